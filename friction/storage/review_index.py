"""How every store orders and pages review items: one sort key, one opaque cursor.

Items are listed oldest first (a queue is worked from its head). The sort key is
the creation time in microseconds, zero-padded so that byte order is time order,
then the id to break ties; both adapters compare it as a string (SQLite ``>``,
Redis ``ZRANGE BYLEX``). The cursor handed to clients is that key in base64url,
so it can change shape later without clients noticing.
"""

from __future__ import annotations

import base64
import binascii

from friction.domain.records import ReviewRecord
from friction.errors import Conflict, InvalidInput

_WIDTH = 17  # microseconds since 1970 stay 16 digits until the year 2286


def sort_key(review: ReviewRecord) -> str:
    """Creation-time order, ties broken by id."""
    micros = max(0, int(review.created_at.timestamp() * 1_000_000))
    return f"{micros:0{_WIDTH}d}:{review.id}"


def encode_cursor(key: str) -> str:
    """The opaque cursor for "items after ``key``"."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str:
    """The sort key inside a cursor ('' for the start); InvalidInput names ``after``."""
    if not cursor:
        return ""
    try:
        key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = ""
    head, _, tail = key.partition(":")
    if len(head) != _WIDTH or not head.isdigit() or not tail:
        raise InvalidInput("after is not a cursor this API handed out", fields=["after"])
    return key


def stale(review: ReviewRecord, stored_version: int) -> Conflict:
    """The error for a write based on an outdated copy of an item."""
    return Conflict(
        f"review {review.id} changed meanwhile (stored version {stored_version}, "
        f"write expects {review.version - 1}); reload it and try again"
    )
