"""SMS abuse guard: a ``Channel`` wrapper that refuses sends beyond what is plausible.

SMS pumping (toll fraud) makes a service text premium or sequential numbers that
the attacker is paid for: each challenge it can trigger costs money. The guard
sits in front of the SMS channel and refuses, with ``ChannelError`` (so the
dialogue ladder moves on to the next rung, never approving), any send

- to a number outside the allowed countries (E.164 prefix allow-list),
- beyond the per-customer or per-number-range cap of the window,
- beyond the estimated spend cap of the window (cost per segment by prefix).

Every refusal increments ``friction_sms_refused_total{reason}``: alert on any rise.
A send is counted *before* it is attempted, so concurrent sends cannot overshoot a
cap, and a failed send still counts (Twilio may have charged for it).
The counters live in this process: with N replicas the caps are N times larger
(see docs/security.md, open problems).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from friction.dialogue.channels.console import mask_phone
from friction.errors import ChannelError
from friction.metrics import Metrics
from friction.ports import Channel, OutboundMessage
from friction.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SmsLimits:
    """The guard's caps (from the Protection section of ``Settings``)."""

    allowed_prefixes: tuple[str, ...]
    window_s: float
    per_customer: int
    per_range: int
    range_tail: int
    segment_cost: dict[str, float] = field(default_factory=dict)
    default_cost: float = 0.10
    spend_cap: float = 50.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmsLimits:
        return cls(
            allowed_prefixes=tuple(settings.sms_allowed_prefixes),
            window_s=settings.sms_window_seconds,
            per_customer=settings.sms_per_customer_cap,
            per_range=settings.sms_per_prefix_cap,
            range_tail=settings.sms_prefix_tail,
            segment_cost=dict(settings.sms_segment_cost),
            default_cost=settings.sms_default_segment_cost,
            spend_cap=settings.sms_spend_cap,
        )

    def cost(self, phone: str, text: str) -> float:
        """Estimated price of ``text`` to ``phone``: segments × price of the longest prefix."""
        prices = [p for p in self.segment_cost if phone.startswith(p)]
        price = self.segment_cost[max(prices, key=len)] if prices else self.default_cost
        return segments(text) * price


def segments(text: str) -> int:
    """SMS segments: GSM-7 (approximated by ASCII) 160/153 a segment, else UCS-2 70/67."""
    single, multi = (160, 153) if text.isascii() else (70, 67)
    return 1 if len(text) <= single else math.ceil(len(text) / multi)


class _Window:
    """Amounts recorded per key over a sliding window (a deque of (time, amount) each)."""

    def __init__(self, window_s: float) -> None:
        self._window_s = window_s
        self._entries: dict[str, deque[tuple[float, float]]] = {}

    def total(self, key: str, now: float) -> float:
        entries = self._entries.get(key)
        if entries is None:
            return 0.0
        while entries and entries[0][0] <= now - self._window_s:
            entries.popleft()
        if not entries:
            del self._entries[key]  # bounded memory: idle keys leave
            return 0.0
        return sum(amount for _, amount in entries)

    def add(self, key: str, now: float, amount: float = 1.0) -> None:
        self._entries.setdefault(key, deque()).append((now, amount))


class SmsGuard:
    """``Channel`` "sms" that checks the caps, then delegates to the real SMS channel."""

    name = "sms"

    def __init__(
        self,
        inner: Channel,
        limits: SmsLimits,
        metrics: Metrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._limits = limits
        self._metrics = metrics
        self._clock = clock
        self._customers = _Window(limits.window_s)
        self._ranges = _Window(limits.window_s)
        self._spend = _Window(limits.window_s)

    async def send(self, message: OutboundMessage) -> str:
        """Refuse beyond the caps (ChannelError), otherwise count and send."""
        phone = message.phone
        if not phone:
            return await self._inner.send(message)
        now = self._clock()
        cost = self._limits.cost(phone, message.text)
        reason = self._refusal(message.customer_id, phone, cost, now)
        if reason is not None:
            self._metrics.sms_refused.labels(reason).inc()
            log.warning("sms to %s refused: %s", mask_phone(phone), reason)
            raise ChannelError(f"SMS to {mask_phone(phone)} refused by the abuse guard: {reason}")
        self._customers.add(message.customer_id, now)
        self._ranges.add(self._range(phone), now)
        self._spend.add("all", now, cost)
        return await self._inner.send(message)

    def _refusal(self, customer_id: str, phone: str, cost: float, now: float) -> str | None:
        limits = self._limits
        if not phone.startswith(limits.allowed_prefixes):
            return "country"
        if self._customers.total(customer_id, now) >= limits.per_customer:
            return "customer_cap"
        if self._ranges.total(self._range(phone), now) >= limits.per_range:
            return "prefix_cap"
        if self._spend.total("all", now) + cost > limits.spend_cap:
            return "spend_cap"
        return None

    def _range(self, phone: str) -> str:
        return phone[: -self._limits.range_tail]

    async def close(self) -> None:
        """Close the wrapped channel, if it holds resources."""
        close = getattr(self._inner, "close", None)
        if close is not None:
            await close()
