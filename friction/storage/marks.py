"""How both stores keep a mark: ``"<until> <value>"``, read back only while still valid."""

from __future__ import annotations


def live_value(stored: bytes | str | None, now_ts: float) -> str | None:
    """A stored mark's value if it is still valid at ``now_ts`` (``until`` decides, not TTL)."""
    if stored is None:
        return None
    text = stored.decode() if isinstance(stored, bytes) else stored
    until, _, value = text.partition(" ")
    return value if float(until) > now_ts else None
