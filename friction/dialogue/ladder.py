"""The channel ladder: which channels may ask this customer, in which order.

A customer's own preferences come first, then ``FRICTION_DEFAULT_CHANNELS``.
A rung is usable only if the channel is configured here and can reach the
customer (a phone number for SMS, no SMS opt-out, a number the SMS guard would
text: an allowed country, a mobile). When nobody answers on a rung within
``FRICTION_LADDER_STEP_SECONDS`` or its delivery fails, the next rung asks;
after the last, the dialogue's expiry gives the default verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from friction.domain.records import Preferences

PHONE_CHANNELS = frozenset({"sms", "console"})


def ladder_for(
    defaults: Sequence[str],
    available: Collection[str],
    phone: str | None,
    preferences: Preferences | None,
    texts: Callable[[str], bool] | None = None,
) -> list[str]:
    """Usable channels, in the order they should be tried; ``texts`` says whether an SMS may
    go to a number at all (``SmsGuard.texts``; None: no guard in front of the SMS channel)."""
    wanted = list(preferences.channels) if preferences and preferences.channels else list(defaults)
    opted_out = preferences is not None and preferences.sms_opted_out
    ladder: list[str] = []
    for name in wanted:
        if name not in available or name in ladder:
            continue
        if name in PHONE_CHANNELS and (not phone or opted_out):
            continue
        if name == "sms" and texts is not None and phone and not texts(phone):
            continue
        ladder.append(name)
    return ladder
