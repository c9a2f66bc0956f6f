"""The answer names the channel that really asks (issue 19, item 4).

A customer whose number no SMS may reach (a country outside
``FRICTION_SMS_ALLOWED_PREFIXES``, or a premium-rate or landline number) is never
offered the SMS rung: the score response and the dialogue events say ``in_app``
from the start instead of ``sms`` followed by a failed send, and when SMS was the
only channel nobody is asked and a person reviews the payment. With the default
allow-list, Arabic-speaking customers in the Emirates and Saudi Arabia get their SMS.
Through the service, the real ``twilio`` SDK and the fake Twilio.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from friction.settings import Settings
from tests.dialogues import (
    FakeSms,
    StartApp,
    dialogue_events,
    eventually,
    payment,
    settled,
    start_sms_service,
)

pytestmark = pytest.mark.timeout(60)
INDIA_MOBILE = "+919812345678"  # a mobile in a country the default list leaves out


def example(region: str, kind: int) -> str:
    number = phonenumbers.example_number_for_type(region, kind)
    assert number is not None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def of(customer: str, phone: str, locale: str = "en-GB") -> dict[str, Any]:
    body = payment(f"pay_{customer}", locale=locale)
    body["customer"] = {"id": customer, "phone": phone, "locale": locale}
    return body


async def test_the_response_and_events_name_the_channel_that_asks(
    fake_sms: FakeSms, start_app: StartApp, make_settings: Callable[..., Settings]
) -> None:
    client, settings = await start_sms_service(
        start_app, fake_sms, make_settings, default_channels=["sms", "in_app"], explore_share=0.0
    )
    customers = {
        "gb": (example("GB", PhoneNumberType.MOBILE), "en-GB", "sms"),
        "ae": (example("AE", PhoneNumberType.MOBILE), "ar-AE", "sms"),
        "sa": (example("SA", PhoneNumberType.MOBILE), "ar-SA", "sms"),
        "in": (INDIA_MOBILE, "en-GB", "in_app"),
        "premium": (example("GB", PhoneNumberType.PREMIUM_RATE), "en-GB", "in_app"),
        "landline": (example("FR", PhoneNumberType.FIXED_LINE), "fr-FR", "in_app"),
    }
    for name, (phone, locale, channel) in customers.items():
        response = await client.post("/v1/score", json=of(f"cus_{name}", phone, locale))
        scored = await response.json()
        assert scored["decision"] == "challenge", scored
        assert scored["dialogue"]["channel"] == channel, name

    texted = {customers[n][0] for n in ("gb", "ae", "sa")}

    async def all_sent() -> bool:  # the fake has the texts, the event log every prompt sent
        sent = {m["to"] for m in fake_sms.state.messages if m["direction"] == "outbound-api"}
        logged = {(e.payment_id, e.state) for e in dialogue_events(settings.data_dir)}
        return sent == texted and all((f"pay_cus_{n}", "sent") in logged for n in customers)

    await eventually(all_sent, within_s=30)
    for name, (_, _, channel) in customers.items():
        events = dialogue_events(settings.data_dir, f"pay_cus_{name}")
        assert {e.channel for e in events} == {channel}, name  # no sms rung tried and failed
        assert "failed" not in {e.state for e in events}
    metrics = await (await client.get("/metrics")).text()
    assert "friction_sms_refused_total{" not in metrics  # nothing sent only to be refused


async def test_sms_as_the_only_channel_to_an_unreachable_number_goes_to_a_person(
    fake_sms: FakeSms, start_app: StartApp, make_settings: Callable[..., Settings]
) -> None:
    client, settings = await start_sms_service(
        start_app, fake_sms, make_settings, sms_allowed_prefixes=["GB", "FR"], explore_share=0.0
    )  # SMS is the only channel; the Emirates are not on this list
    scored = await (await client.post("/v1/score", json=of("cus_ae", "+971501234567"))).json()
    assert scored["decision"] == "review" and scored["dialogue"] is None, scored
    assert "CUSTOMER_UNREACHABLE" in [r["code"] for r in scored["reasons"]]
    assert await settled(client, "pay_cus_ae") == "review"
    assert dialogue_events(settings.data_dir, "pay_cus_ae") == []
    assert fake_sms.state.messages == []
