"""Hook for the review queue: review items as a frame that joins on ``payment_id``.

The review-queue API (``GET /v1/reviews``) is being built alongside this package;
its item schema is not fixed yet. Anything that yields review items as mappings
(JSON pages from the API, rows of an export) satisfies ``ReviewSource``, and
``reviews_frame`` types the columns analysts group on. When the API lands, add an
adapter here that pages through it (keep HTTP out of the frames and measures) and
extend ``REVIEW_COLUMNS``; unknown fields pass through untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import pandas as pd

REVIEW_COLUMNS: dict[str, str] = {
    "id": "string",
    "payment_id": "string",
    "status": "category",
    "verdict": "category",
    "assignee": "string",
    "created_at": "time",
    "resolved_at": "time",
}


class ReviewSource(Protocol):
    """Yields review items (one mapping per item, as the API serialises them)."""

    def reviews(self) -> Iterable[Mapping[str, Any]]: ...


def reviews_frame(items: ReviewSource | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Review items as a frame with typed known columns; merge with ``payments_frame``."""
    rows = list(items.reviews() if hasattr(items, "reviews") else items)
    frame = pd.DataFrame.from_records([dict(r) for r in rows])
    for column, kind in REVIEW_COLUMNS.items():
        values = frame[column] if column in frame.columns else pd.Series(None, index=frame.index)
        if kind == "time":
            frame[column] = pd.to_datetime(values, utc=True, format="ISO8601")
        elif kind == "category":
            frame[column] = values.astype("string").astype("category")
        else:
            frame[column] = values.astype("string")
    return frame
