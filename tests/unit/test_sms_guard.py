"""SMS abuse guard (issue 8, item 12): allow-list, per-customer/prefix caps, spend cap.

A pumping simulation — many challenges to sequential numbers of one range — sends
nothing beyond the caps, every refusal is a ``ChannelError`` (the ladder moves on)
and ``friction_sms_refused_total{reason}`` rises.
"""

from __future__ import annotations

import pytest

from friction.dialogue.channels.sms_guard import SmsGuard, SmsLimits, segments
from friction.errors import ChannelError
from friction.metrics import Metrics
from friction.ports import OutboundMessage
from friction.storage.quotas import MemoryQuotas


class Recorder:
    """The wrapped channel: records what would have been texted."""

    name = "sms"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: OutboundMessage) -> str:
        self.sent.append(str(message.phone))
        return f"SM{len(self.sent)}"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


LIMITS = SmsLimits(
    allowed_prefixes=("+44", "+33"), window_s=3600, per_customer=2, per_range=5, range_tail=3,
    segment_cost={"+44": 0.04, "+33": 0.08}, default_cost=0.5, spend_cap=1.0,
)  # fmt: skip


def message(
    phone: str, customer: str, text: str = "Did you pay EUR 10.00? Reply YES or NO."
) -> OutboundMessage:
    return OutboundMessage("dlg", customer, phone, "en", text)


def refused(metrics: Metrics, reason: str) -> float:
    value = metrics.registry.get_sample_value("friction_sms_refused_total", {"reason": reason})
    return value or 0.0


async def test_pumping_sequential_numbers_is_capped_per_range_and_raises_the_metric() -> None:
    inner, metrics = Recorder(), Metrics()
    guard = SmsGuard(inner, LIMITS, metrics, MemoryQuotas(), Clock())
    failures = 0
    for n in range(200):  # +447700900000, +447700900001, ...: one range, new customer each
        try:
            await guard.send(message(f"+44770090{n:04d}", f"cus_pump_{n}"))
        except ChannelError:
            failures += 1
    ranges = {phone[:-3] for phone in inner.sent}
    assert len(inner.sent) <= LIMITS.per_range * len(ranges)
    assert len(inner.sent) == 5 * 1 and failures == 195  # all in one range: +447700900xxx
    assert refused(metrics, "prefix_cap") == 195


async def test_country_customer_and_spend_caps_and_the_window() -> None:
    inner, metrics, clock = Recorder(), Metrics(), Clock()
    guard = SmsGuard(inner, LIMITS, metrics, MemoryQuotas(), clock)
    with pytest.raises(ChannelError, match="country"):
        await guard.send(message("+8821234567890", "cus_a"))  # premium satellite range
    for _ in range(2):
        await guard.send(message("+447700900123", "cus_b"))
    with pytest.raises(ChannelError, match="customer_cap"):
        await guard.send(message("+447700900123", "cus_b"))
    long_text = "é" * 300  # UCS-2: 5 segments, 0.40 at +33
    await guard.send(message("+33612345001", "cus_c", long_text))
    await guard.send(message("+33612346001", "cus_d", long_text))
    with pytest.raises(ChannelError, match="spend_cap"):
        await guard.send(message("+33612347001", "cus_e", long_text))
    assert segments(long_text) == 5 and len(inner.sent) == 4
    clock.now += 3601  # a new window: allowed again
    await guard.send(message("+447700900123", "cus_b"))
    assert {r: refused(metrics, r) for r in ("country", "customer_cap", "spend_cap")} == {
        "country": 1,
        "customer_cap": 1,
        "spend_cap": 1,
    }
