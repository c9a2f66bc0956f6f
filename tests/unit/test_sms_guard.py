"""SMS abuse guard (issue 8, item 12): allow-list, per-customer/prefix caps, spend cap.

A pumping simulation — many challenges to sequential numbers of one range — sends
nothing beyond the caps, every refusal is a ``ChannelError`` (the ladder moves on)
and ``friction_sms_refused_total{reason}`` rises.
"""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType
from pydantic import ValidationError

from friction.dialogue.channels.sms_guard import SmsGuard, SmsLimits
from friction.dialogue.templates import sms_segments
from friction.errors import ChannelError
from friction.metrics import Metrics
from friction.ports import OutboundMessage
from friction.settings import Settings
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
    long_text = "ب" * 300  # UCS-2: 5 segments, 0.40 at +33
    await guard.send(message("+33612345001", "cus_c", long_text))
    await guard.send(message("+33612346001", "cus_d", long_text))
    with pytest.raises(ChannelError, match="spend_cap"):
        await guard.send(message("+33612347001", "cus_e", long_text))
    assert sms_segments(long_text) == 5 and len(inner.sent) == 4
    clock.now += 3601  # a new window: allowed again
    await guard.send(message("+447700900123", "cus_b"))
    assert {r: refused(metrics, r) for r in ("country", "customer_cap", "spend_cap")} == {
        "country": 1,
        "customer_cap": 1,
        "spend_cap": 1,
    }


def guard_for(*allowed: str) -> tuple[SmsGuard, Recorder, Metrics]:
    inner, metrics = Recorder(), Metrics()
    limits = SmsLimits(allowed, 3600, per_customer=9, per_range=9, range_tail=3, spend_cap=99)
    return SmsGuard(inner, limits, metrics, MemoryQuotas(), Clock()), inner, metrics


def example(kind: int) -> tuple[str, str]:
    """A region with an example number of ``kind`` (GB first), and that number in E.164."""
    for region in ["GB", *sorted(phonenumbers.SUPPORTED_REGIONS)]:
        number = phonenumbers.example_number_for_type(region, kind)
        if number is not None:
            return region, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise AssertionError(f"no example number of type {kind}")


async def test_countries_by_region_code_and_by_prefix() -> None:
    """Issue 19 item 12: region codes from libphonenumber; E.164 prefixes still work."""
    guard, inner, metrics = guard_for("GB", "AE")
    await guard.send(message("+971501234567", "cus_ae"))  # an Emirati mobile
    await guard.send(message("+447700900123", "cus_gb"))  # a drama-range mobile: GB
    with pytest.raises(ChannelError, match="country"):
        await guard.send(message("+966501234567", "cus_sa"))  # Saudi Arabia: not listed
    jamaica = "+18765551234"  # NANP: +1 yet not the US
    us_only, _, _ = guard_for("US", "CA")
    with pytest.raises(ChannelError, match="country"):
        await us_only.send(message(jamaica, "cus_jm"))
    whole_plan, sent, _ = guard_for("+1")
    await whole_plan.send(message(jamaica, "cus_jm"))  # what "+1" always allowed
    assert inner.sent == ["+971501234567", "+447700900123"] and sent.sent == [jamaica]
    assert refused(metrics, "country") == 1


@pytest.mark.parametrize(
    "kind",
    [PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST, PhoneNumberType.TOLL_FREE,
     PhoneNumberType.VOIP, PhoneNumberType.PERSONAL_NUMBER, PhoneNumberType.UAN,
     PhoneNumberType.FIXED_LINE],
)  # fmt: skip
async def test_numbers_that_are_not_mobiles_are_never_texted(kind: int) -> None:
    region, number = example(kind)
    guard, inner, metrics = guard_for(region, "GB")
    with pytest.raises(ChannelError, match="number_type"):
        await guard.send(message(number, "cus_1"))
    await guard.send(message(example(PhoneNumberType.MOBILE)[1], "cus_1"))
    assert len(inner.sent) == 1 and refused(metrics, "number_type") == 1


def test_the_allow_list_setting_takes_regions_and_prefixes_and_refuses_anything_else() -> None:
    assert Settings(sms_allowed_prefixes="GB, AE,+33").sms_allowed_prefixes == ["GB", "AE", "+33"]
    assert "AE" in Settings().sms_allowed_prefixes and "SA" in Settings().sms_allowed_prefixes
    with pytest.raises(ValidationError, match="region code"):
        Settings(sms_allowed_prefixes="GB,UK")
