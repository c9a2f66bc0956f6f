"""The friction funnel and time to answer, by channel and language.

Stages are cumulative: a dialogue that was answered was necessarily sent and
delivered, even on a channel that gives no delivery receipts (the console and some
SMS routes) — an answer proves delivery. Counting a stage as "reached at this stage
or later" keeps the funnel monotone, so rates between stages are meaningful.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from friction.analytics.join import OUTCOMES

STAGES = ("challenged", "sent", "delivered", "answered")
ENDINGS = (*(o for o in OUTCOMES if o != "open"), "open")
DEFAULT_BY: tuple[str, ...] = ("dialogue_channel", "language")


def funnel(payments: pd.DataFrame, by: Sequence[str] = DEFAULT_BY) -> pd.DataFrame:
    """Per group: dialogues reaching each stage, how each ended, and stage rates.

    Columns: ``challenged, sent, delivered, answered`` (cumulative), then one column
    per outcome (``confirmed, denied, asked_human, unclear, expired, opted_out, failed,
    open``), then ``answer_rate`` (answered / sent) and ``confirm_rate`` (confirmed /
    answered). The default groups by ``dialogue_channel``: an answered dialogue counts
    under the channel the answer came from (``join.dialogue_summary``).
    """
    rows = _dialogues(payments)
    reached = pd.DataFrame(index=rows.index)
    answered = rows["answered_at"].notna()
    delivered = rows["delivered_at"].notna() | answered
    reached["challenged"] = True
    reached["sent"] = rows["sent_at"].notna() | delivered
    reached["delivered"] = delivered
    reached["answered"] = answered
    for outcome in ENDINGS:
        reached[outcome] = rows["outcome"] == outcome
    keys = [rows[k].astype("string").fillna("unknown") for k in by] if by else None
    table = reached.groupby(keys).sum() if keys else reached.sum().to_frame("all").T
    table = table.astype("int64")
    table["answer_rate"] = table["answered"] / table["sent"].where(table["sent"] > 0)
    table["confirm_rate"] = table["confirmed"] / table["answered"].where(table["answered"] > 0)
    return table


def funnel_totals(payments: pd.DataFrame) -> pd.Series:
    """The funnel over all dialogues, one count per stage and outcome (for plots)."""
    table = funnel(payments, by=())
    return table.iloc[0][[*STAGES, *ENDINGS]].astype("int64")


def time_to_answer(payments: pd.DataFrame, by: Sequence[str] = DEFAULT_BY) -> pd.DataFrame:
    """Seconds from challenge to answer per group: answered, median, p90, max."""
    rows = _dialogues(payments)
    rows = rows[rows["time_to_answer_s"].notna()]
    columns = ["answered", "median_s", "p90_s", "max_s"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    keys = [rows[k].astype("string").fillna("unknown") for k in by] if by else None
    seconds = rows["time_to_answer_s"].astype(float)
    grouped = seconds.groupby(keys or pd.Series("all", index=seconds.index))
    table = grouped.agg(["size", "median", _p90, "max"])
    table.columns = pd.Index(columns)
    return table


def _p90(seconds: pd.Series) -> float:
    return float(seconds.quantile(0.9))


def _dialogues(payments: pd.DataFrame) -> pd.DataFrame:
    """The challenged payments that opened a dialogue."""
    return payments[payments["dialogue_id"].notna()]
