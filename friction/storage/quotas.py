"""Sliding-window quotas in process memory: the embedded store's ``Quotas``.

One process owns an embedded store, so its counters can live in memory; they start
empty after a restart, which errs towards sending (caps are a guard against abuse
bursts, not an accounting ledger). The Redis store keeps the same windows in sorted
sets so that every replica counts against one cap (``redis_scripts.QUOTAS_LUA``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from friction.domain.records import Quota


class MemoryQuotas:
    """Amounts recorded per key over each quota's window: a deque of (time, amount)."""

    def __init__(self) -> None:
        self._entries: dict[str, deque[tuple[float, float]]] = {}

    async def take_quotas(self, quotas: Sequence[Quota], now_ts: float) -> str | None:
        """See ``friction.ports.Quotas.take_quotas``."""
        for quota in quotas:
            if self._total(quota.key, now_ts - quota.window_s) + quota.amount > quota.limit:
                return quota.name
        for quota in quotas:
            self._entries.setdefault(quota.key, deque()).append((now_ts, quota.amount))
        return None

    def _total(self, key: str, horizon: float) -> float:
        entries = self._entries.get(key)
        if entries is None:
            return 0.0
        while entries and entries[0][0] <= horizon:
            entries.popleft()
        if not entries:
            del self._entries[key]  # bounded memory: idle keys leave
            return 0.0
        return sum(amount for _, amount in entries)
