"""Review items as a frame that joins on ``payment_id``.

Anything that yields review items as mappings (JSON pages from ``GET
/v1/reviews``, ``ReviewRecord.model_dump``, rows of an export) satisfies
``ReviewSource``; ``reviews_frame`` types the columns analysts group on and
spreads the customer-history snapshot into ``history_<feature>`` columns.
Where the items come from (a running service, the store) lives in
``friction.analytics.review_sources``, so no HTTP reaches the frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import pandas as pd

REVIEW_COLUMNS: dict[str, str] = {
    "id": "string",
    "payment_id": "string",
    "customer_id": "string",
    "reason": "category",
    "status": "category",
    "verdict": "category",
    "label": "category",
    "assignee": "string",
    "score": "float",
    "created_at": "time",
    "resolved_at": "time",
}


class ReviewSource(Protocol):
    """Yields review items (one mapping per item, as the API serialises them)."""

    def reviews(self) -> Iterable[Mapping[str, Any]]: ...


def reviews_frame(items: ReviewSource | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Review items as a frame with typed known columns; merge with ``payments_frame``.

    Adds ``time_to_resolve_s`` and ``audit_entries``; other fields pass through untouched.
    """
    rows = [_flat(r) for r in (items.reviews() if hasattr(items, "reviews") else items)]
    frame = pd.DataFrame.from_records(rows)
    for column, kind in REVIEW_COLUMNS.items():
        values = frame[column] if column in frame.columns else pd.Series(None, index=frame.index)
        if kind == "time":
            frame[column] = pd.to_datetime(values, utc=True, format="ISO8601")
        elif kind == "category":
            frame[column] = values.astype("string").astype("category")
        elif kind == "float":
            frame[column] = pd.to_numeric(values, errors="coerce").astype("float64")
        else:
            frame[column] = values.astype("string")
    waited = frame["resolved_at"] - frame["created_at"]
    frame["time_to_resolve_s"] = waited.dt.total_seconds()
    return frame


def _flat(item: Mapping[str, Any]) -> dict[str, Any]:
    """One row: the history snapshot spread into columns, the audit trail counted."""
    row = dict(item)
    for name, value in (row.pop("history", None) or {}).items():
        row[f"history_{name}"] = float("nan") if value is None else value
    if "audit" in row:
        row["audit_entries"] = len(row["audit"] or [])
    return row
