"""Model drift: population stability index (PSI) of features and scores between windows.

PSI = Σ (a − e) · ln(a / e) over bins, where e and a are the shares of the
reference and current windows in each bin. Bins are deciles of the *reference*
window (so each holds ~10 % of it), with missing values as a bin of their own —
a feature that suddenly goes missing is drift too. Common reading: < 0.1 stable,
0.1–0.25 watch, > 0.25 investigate (``drift_level``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import numpy as np
import pandas as pd

from friction.analytics.frames import FEATURE_PREFIX, feature_columns

EPSILON = 1e-4
"""Floor of a bin's share: an empty bin would make ln(a/e) infinite."""

Moment = str | date | datetime | pd.Timestamp
Window = tuple[Moment, Moment]


def psi(reference: pd.Series, current: pd.Series, bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference``."""
    ref = pd.to_numeric(reference, errors="coerce").astype(float)
    cur = pd.to_numeric(current, errors="coerce").astype(float)
    if ref.notna().sum() == 0:
        return float("nan")
    edges = np.unique(np.nanquantile(ref, np.linspace(0, 1, bins + 1)))
    expected, actual = _shares(ref, edges), _shares(cur, edges)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _shares(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    """Share of values per bin (inner edges cut; outer bins open-ended), then missing."""
    present = values.dropna().to_numpy()
    index = np.searchsorted(edges[1:-1], present, side="right")
    counts = np.bincount(index, minlength=max(len(edges) - 1, 1)).astype(float)
    counts = np.append(counts, float(values.isna().sum()))
    total = counts.sum()
    shares = counts / total if total else counts
    floored: np.ndarray = np.maximum(shares, EPSILON)
    return floored


def drift_table(
    frame: pd.DataFrame,
    reference: Window,
    current: Window,
    columns: Sequence[str] | None = None,
    time_column: str = "occurred_at",
) -> pd.DataFrame:
    """PSI per column (default: every feature and the score), worst first.

    Windows are ``[start, end)`` on ``time_column`` (payment time, so a backfill reads
    the same as live traffic).
    """
    columns = list(columns) if columns is not None else [*feature_columns(frame), "score"]
    ref, cur = _window(frame, reference, time_column), _window(frame, current, time_column)
    rows = [{"column": c.removeprefix(FEATURE_PREFIX), "psi": psi(ref[c], cur[c])} for c in columns]
    table = pd.DataFrame(rows, columns=["column", "psi"])
    table["level"] = table["psi"].map(drift_level)
    table.attrs.update(reference_rows=len(ref), current_rows=len(cur))
    return table.sort_values("psi", ascending=False, ignore_index=True)


def weekly_windows(frame: pd.DataFrame, time_column: str = "occurred_at") -> list[Window]:
    """Consecutive 7-day ``[start, end)`` windows from the first payment's day.

    Anchored on the data rather than on Mondays so the first window is a full week
    (a partial week compared with a full one reads as drift that is not there).
    """
    times = frame[time_column]
    if times.empty:
        return []
    starts = pd.date_range(times.min().floor("D"), times.max(), freq="7D")
    return [(start, start + pd.Timedelta(days=7)) for start in starts]


def drift_level(value: float) -> str:
    """``stable`` / ``watch`` / ``investigate`` for a PSI value (``n/a`` when undefined)."""
    if not np.isfinite(value):
        return "n/a"
    return "stable" if value < 0.1 else "watch" if value < 0.25 else "investigate"


def _window(frame: pd.DataFrame, window: Window, time_column: str) -> pd.DataFrame:
    start, end = (_utc(moment) for moment in window)
    times = frame[time_column]
    return frame[(times >= start) & (times < end)]


def _utc(moment: Moment) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
