"""The handbook's 15 baseline features, vectorised, for the reproduction check.

Each window is found with one ``searchsorted`` over rows sorted by (entity,
time), and sums come from cumulative sums, so the whole stream takes seconds.
Customer windows are (t - n days, t] and include the current transaction;
terminal windows are shifted back by the label delay, (t - 7 - n, t - 7] days,
because fraud labels are only known a week late.
"""

from __future__ import annotations

import numpy as np

from friction.offline.handbook_stream import DAY_SECONDS, DELAY_DAYS, F64, I64, Stream

WINDOWS = (1, 7, 30)
NIGHT_LAST_HOUR = 6
BASELINE_FEATURES: tuple[str, ...] = (
    "TX_AMOUNT",
    "TX_DURING_WEEKEND",
    "TX_DURING_NIGHT",
    *(f"CUSTOMER_ID_{stat}_{n}DAY_WINDOW" for n in WINDOWS for stat in ("NB_TX", "AVG_AMOUNT")),
    *(f"TERMINAL_ID_{stat}_{n}DAY_WINDOW" for n in WINDOWS for stat in ("NB_TX", "RISK")),
)
_SLOT = np.int64(1) << np.int64(36)  # room for ~2,000 years of seconds per entity


class _Grouped:
    """Rows sorted by (entity, time) with a key whose order is that sort's order."""

    def __init__(self, entity: I64, ts: I64) -> None:
        self.order = np.lexsort((np.arange(len(ts)), ts, entity))
        codes = np.unique(entity, return_inverse=True)[1].astype(np.int64)
        # Offset keeps every (t - window) positive so keys never cross entities.
        rel = ts - ts.min() + 64 * DAY_SECONDS if len(ts) else ts
        self.key = (codes * _SLOT + rel)[self.order]

    def boundary(self, seconds_back: int) -> I64:
        """Per sorted row: index of the first row of its entity later than t - seconds_back."""
        return np.searchsorted(self.key, self.key - seconds_back, side="right").astype(np.int64)

    def window_sum(self, values: F64, start: I64, stop: I64) -> F64:
        """Per sorted row: sum of ``values`` (stream order) over sorted rows [start, stop)."""
        cumulative = np.r_[0.0, np.cumsum(values[self.order])]
        return np.asarray(cumulative[stop] - cumulative[start], dtype=np.float64)


def baseline_features(stream: Stream) -> F64:
    """The 15-column matrix in ``BASELINE_FEATURES`` order, rows in stream order."""
    n = len(stream)
    seconds_of_day = stream.ts % DAY_SECONDS
    weekday = (stream.day + 3) % 7  # 1970-01-01 was a Thursday
    columns: list[F64] = [
        stream.amount,
        (weekday >= 5).astype(np.float64),
        (seconds_of_day // 3600 <= NIGHT_LAST_HOUR).astype(np.float64),
    ]
    columns += _customer_columns(stream)
    columns += _terminal_columns(stream)
    matrix = np.column_stack(columns) if n else np.empty((0, len(BASELINE_FEATURES)))
    return np.asarray(matrix, dtype=np.float64)


def _customer_columns(stream: Stream) -> list[F64]:
    grouped = _Grouped(stream.customer, stream.ts)
    stop = np.arange(1, len(stream) + 1, dtype=np.int64)
    out: list[F64] = []
    for days in WINDOWS:
        start = grouped.boundary(days * DAY_SECONDS)
        count = (stop - start).astype(np.float64)
        total = grouped.window_sum(stream.amount, start, stop)
        out += [_unsort(grouped.order, count), _unsort(grouped.order, total / count)]
    return out


def _terminal_columns(stream: Stream) -> list[F64]:
    grouped = _Grouped(stream.terminal, stream.ts)
    stop = grouped.boundary(DELAY_DAYS * DAY_SECONDS)
    fraud = stream.fraud.astype(np.float64)
    out: list[F64] = []
    for days in WINDOWS:
        start = grouped.boundary((DELAY_DAYS + days) * DAY_SECONDS)
        count = (stop - start).astype(np.float64)
        frauds = grouped.window_sum(fraud, start, stop)
        risk = np.divide(frauds, count, out=np.zeros_like(frauds), where=count > 0)
        out += [_unsort(grouped.order, count), _unsort(grouped.order, risk)]
    return out


def _unsort(order: I64, sorted_values: F64) -> F64:
    values = np.empty_like(sorted_values)
    values[order] = sorted_values
    return values
