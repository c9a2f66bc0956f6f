"""SMS abuse guard: a ``Channel`` wrapper that refuses sends beyond what is plausible.

SMS pumping (toll fraud) makes a service text premium or sequential numbers that
the attacker is paid for: each challenge it can trigger costs money. The guard
sits in front of the SMS channel and refuses, with ``ChannelError`` (so the
dialogue ladder moves on to the next rung, never approving), any send

- to a number outside the allowed countries (region codes such as ``GB`` found by
  libphonenumber, or E.164 prefixes such as ``+44``),
- to a number whose type is not a mobile's: premium-rate, shared-cost, toll-free, UAN,
  VoIP, personal, pager, voicemail and landline ranges are what SMS pumping buys or what
  cannot read a text (numbers outside every known range — new allocations, the ranges
  reserved for drama — pass on to the caps below),
- beyond the per-customer or per-number-range cap of the window,
- beyond the estimated spend cap of the window (cost per segment by prefix).

Country and number type depend on the number alone: the channel ladder asks the guard
first (``SmsGuard.texts``) and leaves out an SMS rung it would refuse, so a payment's
answer names the channel that will really ask (``friction.dialogue.reach``).
Every refusal increments ``friction_sms_refused_total{reason}``: alert on any rise.
A send is counted *before* it is attempted, so concurrent sends cannot overshoot a
cap, and a failed send still counts (Twilio may have charged for it). The counters
are the store's ``Quotas``: on Redis every replica counts against the same caps.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import PhoneNumberType

from friction.dialogue.templates import sms_segments
from friction.domain.privacy import mask_phone
from friction.domain.records import Quota
from friction.errors import ChannelError
from friction.metrics import Metrics
from friction.ports import Channel, OutboundMessage, Quotas
from friction.settings import SmsSettings

log = logging.getLogger(__name__)
REFUSED_TYPES = frozenset(
    {PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE, PhoneNumberType.PREMIUM_RATE,
     PhoneNumberType.SHARED_COST, PhoneNumberType.VOIP, PhoneNumberType.PERSONAL_NUMBER,
     PhoneNumberType.PAGER, PhoneNumberType.UAN, PhoneNumberType.VOICEMAIL}
)  # fmt: skip
"""Types never texted; MOBILE, FIXED_LINE_OR_MOBILE (the US and Canada cannot tell) and
UNKNOWN are, within the caps."""


@functools.lru_cache(maxsize=65_536)
def region_and_type(phone: str) -> tuple[str, int]:
    """The number's region (``GB``; the country code's main region when libphonenumber does
    not know the range) and its ``PhoneNumberType``; ``("", UNKNOWN)`` if it does not parse.
    Remembered per number: the ladder asks for every payment scored, and a number's region
    and type do not change (libphonenumber takes ~50 µs, the lookup ~0.1 µs; a full cache
    of 65,536 numbers holds ~9 MB)."""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return "", PhoneNumberType.UNKNOWN
    region = phonenumbers.region_code_for_number(number) or (
        phonenumbers.region_code_for_country_code(number.country_code or 0)
    )
    return region, phonenumbers.number_type(number)


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
    def from_settings(cls, settings: SmsSettings) -> SmsLimits:
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

    def allows(self, phone: str, region: str) -> bool:
        """Whether ``phone`` is in an allowed country: its region or an allowed E.164 prefix."""
        return region in self.allowed_prefixes or phone.startswith(
            tuple(p for p in self.allowed_prefixes if p.startswith("+"))
        )

    def refusal_of(self, phone: str) -> str | None:
        """``country`` or ``number_type`` if no SMS may ever go to ``phone``, else None: what
        the number alone decides, no counter read."""
        region, kind = region_and_type(phone)
        if not self.allows(phone, region):
            return "country"
        return "number_type" if kind in REFUSED_TYPES else None

    def cost(self, phone: str, text: str) -> float:
        """Estimated price of ``text`` to ``phone``: segments × price of the longest prefix."""
        prices = [p for p in self.segment_cost if phone.startswith(p)]
        price = self.segment_cost[max(prices, key=len)] if prices else self.default_cost
        return sms_segments(text) * price


class SmsGuard:
    """``Channel`` "sms" that checks the caps, then delegates to the real SMS channel."""

    name = "sms"

    def __init__(
        self,
        inner: Channel,
        limits: SmsLimits,
        metrics: Metrics,
        quotas: Quotas,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._inner = inner
        self._limits = limits
        self._metrics = metrics
        self._quotas = quotas
        self._clock = clock

    async def send(self, message: OutboundMessage) -> str:
        """Refuse beyond the caps (ChannelError), otherwise count and send."""
        phone = message.phone
        if not phone:
            return await self._inner.send(message)
        reason = await self._refusal(message.customer_id, phone, message.text)
        if reason is not None:
            self._metrics.sms_refused.labels(reason).inc()
            log.warning("sms to %s refused: %s", mask_phone(phone), reason)
            raise ChannelError(f"SMS to {mask_phone(phone)} refused by the abuse guard: {reason}")
        return await self._inner.send(message)

    def texts(self, phone: str) -> bool:
        """Whether an SMS to ``phone`` can pass the country and number-type checks (the caps
        are counted at the send): the ladder's question before it offers an SMS rung."""
        return self._limits.refusal_of(phone) is None

    async def _refusal(self, customer_id: str, phone: str, text: str) -> str | None:
        """The cap this send would pass, or None after counting it against every cap."""
        limits, window = self._limits, self._limits.window_s
        if (never := limits.refusal_of(phone)) is not None:
            return never
        number_range = phone[: -limits.range_tail]
        caps = [
            Quota("customer_cap", f"sms:customer:{customer_id}", 1, limits.per_customer, window),
            Quota("prefix_cap", f"sms:range:{number_range}", 1, limits.per_range, window),
            Quota("spend_cap", "sms:spend", limits.cost(phone, text), limits.spend_cap, window),
        ]
        return await self._quotas.take_quotas(caps, self._clock())

    async def close(self) -> None:
        """Close the wrapped channel."""
        await self._inner.close()
