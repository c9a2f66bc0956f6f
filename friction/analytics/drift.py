"""Model drift: population stability index (PSI) of features and scores between windows.

PSI = Σ (a − e) · ln(a / e) over bins, where e and a are the shares of the
reference and current windows in each bin. Bins are deciles of the *reference*
window (so each holds ~10 % of it), with missing values as a bin of their own —
a feature that suddenly goes missing is drift too. Common reading: < 0.1 stable,
0.1–0.25 watch, > 0.25 investigate (``drift_level``).

On small windows those cuts read sampling noise as drift: two samples of one population
give PSI · (1/n + 1/m)⁻¹ ≈ χ² with (bins − 1) degrees of freedom (Yurdakul, 2018,
"Statistical properties of the population stability index"), so 130 payments a week
reach PSI 0.33 by chance once in a hundred. ``drift_table`` therefore gives each column
its ``noise`` (that 99th percentile) and calls it drift only above it. A customer's
features repeat over their payments (and a terminal's over its), so such a column counts
its distinct customers (terminals, merchants) in each window as its sample, not its rows:
the bound for perfectly correlated repeats, which errs towards calling less drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import numpy as np
import pandas as pd
from scipy.stats import chi2

from friction.analytics.frames import FEATURE_PREFIX, feature_columns

EPSILON = 1e-4
"""Floor of a bin's share: an empty bin would make ln(a/e) infinite."""
NOISE_QUANTILE = 0.99
"""PSI below this quantile of its no-drift distribution is read as sampling noise."""
ENTITY_OF_PREFIX = {"cust_": "customer_id", "terminal_": "terminal_id",
                    "merchant_": "merchant_id"}  # fmt: skip
"""Features of one customer (terminal, merchant): its payments are not independent draws."""

Moment = str | date | datetime | pd.Timestamp
Window = tuple[Moment, Moment]


def psi(reference: pd.Series, current: pd.Series, bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference``."""
    return _psi(reference, current, bins)[0]


def psi_noise(reference_rows: int, current_rows: int, bins: int) -> float:
    """The PSI that two samples of these sizes from one population exceed only once in a
    hundred (``NOISE_QUANTILE``), over ``bins`` bins holding any payment."""
    if bins < 2 or min(reference_rows, current_rows) == 0:
        return float("nan")
    spread = 1 / reference_rows + 1 / current_rows
    return float(chi2.ppf(NOISE_QUANTILE, bins - 1) * spread)


def _psi(reference: pd.Series, current: pd.Series, bins: int) -> tuple[float, int]:
    """PSI and how many bins (the missing one included) hold a payment of either window."""
    ref = pd.to_numeric(reference, errors="coerce").astype(float)
    cur = pd.to_numeric(current, errors="coerce").astype(float)
    if ref.notna().sum() == 0:
        return float("nan"), 0
    edges = np.unique(np.nanquantile(ref, np.linspace(0, 1, bins + 1)))
    ref_counts, cur_counts = _counts(ref, edges), _counts(cur, edges)
    expected, actual = _shares(ref_counts), _shares(cur_counts)
    value = float(np.sum((actual - expected) * np.log(actual / expected)))
    return value, int(np.count_nonzero(ref_counts + cur_counts))


def _counts(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    """Values per bin (inner edges cut; outer bins open-ended), then the missing ones."""
    present = values.dropna().to_numpy()
    index = np.searchsorted(edges[1:-1], present, side="right")
    counts = np.bincount(index, minlength=max(len(edges) - 1, 1)).astype(float)
    return np.append(counts, float(values.isna().sum()))


def _shares(counts: np.ndarray) -> np.ndarray:
    """Share per bin, floored at ``EPSILON``."""
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
    rows = []
    for column in columns:
        value, bins = _psi(ref[column], cur[column], 10)
        noise = psi_noise(_sample(ref, column), _sample(cur, column), bins)
        rows.append({"column": column.removeprefix(FEATURE_PREFIX), "psi": value, "noise": noise})
    table = pd.DataFrame(rows, columns=["column", "psi", "noise"])
    table["level"] = [drift_level(v, n) for v, n in zip(table["psi"], table["noise"], strict=True)]
    table.attrs.update(reference_rows=len(ref), current_rows=len(cur))
    return table.sort_values("psi", ascending=False, ignore_index=True)


def _sample(window: pd.DataFrame, column: str) -> int:
    """Independent draws behind ``column`` in ``window``: its rows, or its entities."""
    name = column.removeprefix(FEATURE_PREFIX)
    entity = next((e for p, e in ENTITY_OF_PREFIX.items() if name.startswith(p)), None)
    return int(window[entity].nunique()) if entity in window.columns else len(window)


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


def drift_level(value: float, noise: float = 0.0) -> str:
    """``stable`` / ``watch`` / ``investigate`` for a PSI value (``n/a`` when undefined);
    a value within sampling ``noise`` (``psi_noise``) is ``stable`` whatever its size."""
    if not np.isfinite(value):
        return "n/a"
    if value < 0.1 or (np.isfinite(noise) and value <= noise):
        return "stable"
    return "watch" if value < 0.25 else "investigate"


def _window(frame: pd.DataFrame, window: Window, time_column: str) -> pd.DataFrame:
    start, end = (_utc(moment) for moment in window)
    times = frame[time_column]
    return frame[(times >= start) & (times < end)]


def _utc(moment: Moment) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
