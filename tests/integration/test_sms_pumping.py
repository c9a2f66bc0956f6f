"""SMS pumping through the fake Twilio (issue 8, item 12), end to end.

An attacker who can make payments for customers of their choosing makes friction
text numbers they are paid for: sequential numbers of one range, premium-rate or
satellite prefixes abroad. Scored here through the service, the real ``twilio`` SDK
and the fake Twilio: the abuse guard must stop the sends at the caps (the fake
records no more), every refused dialogue falls back to its in-app rung, and
``/metrics`` counts each refusal by reason. A number no SMS may reach (a country
not allowed) is never offered an SMS rung: with SMS as the customer's only channel
the payment goes to a person at once (issue 19, item 4), never released.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import pytest

from friction.settings import Settings
from tests.dialogues import (
    FakeSms,
    StartApp,
    challenge,
    dialogue_events,
    eventually,
    payment,
    settled,
    start_sms_service,
)

pytestmark = pytest.mark.timeout(60)
RANGE_CAP = 5
SEQUENTIAL = [f"+44770090{n:04d}" for n in range(100, 160)]  # one range, walked in order
PREMIUM = [f"+88234{n:07d}" for n in range(8)]  # international satellite: not allowed


def pumped(n: int, phone: str) -> dict[str, object]:
    body = payment(f"pay_pump_{n}")
    body["customer"] = {"id": f"cus_pump_{n}", "phone": phone, "locale": "en-GB"}
    return body


def refused(metrics: str) -> dict[str, float]:
    """``friction_sms_refused_total`` by reason, from the Prometheus text."""
    found = re.findall(r'^friction_sms_refused_total\{reason="(\w+)"\} (\S+)$', metrics, re.M)
    return {reason: float(value) for reason, value in found}


async def test_pumping_is_stopped_at_the_caps_falls_back_and_is_counted(
    fake_sms: FakeSms, start_app: StartApp, make_settings: Callable[..., Settings]
) -> None:
    client, settings = await start_sms_service(
        start_app, fake_sms, make_settings,
        default_channels=["sms", "in_app"], sms_per_prefix_cap=RANGE_CAP,
        sms_allowed_prefixes=["+44", "+33"], explore_share=0.0,
    )  # fmt: skip
    for n, phone in enumerate(SEQUENTIAL):
        await challenge(client, pumped(n, phone))
    premium_ids = range(len(SEQUENTIAL), len(SEQUENTIAL) + len(PREMIUM))
    for n, phone in zip(premium_ids, PREMIUM, strict=True):
        response = await client.put(f"/v1/customers/cus_pump_{n}/preferences",
                                    json={"channels": ["sms"]})  # fmt: skip
        assert response.status == 200
        scored = await (await client.post("/v1/score", json=pumped(n, phone))).json()
        assert scored["decision"] == "review" and scored["dialogue"] is None, scored
        assert "CUSTOMER_UNREACHABLE" in [r["code"] for r in scored["reasons"]]

    async def all_moved() -> bool:
        ends = {(e.payment_id, e.state) for e in dialogue_events(settings.data_dir)}
        return all((f"pay_pump_{n}", "sent") in ends for n in range(len(SEQUENTIAL)))

    await eventually(all_moved, within_s=30)
    outbound = [m["to"] for m in fake_sms.state.messages if m["direction"] == "outbound-api"]
    assert outbound == SEQUENTIAL[:RANGE_CAP]  # the first few of the range, then nothing

    events = dialogue_events(settings.data_dir)
    rungs = Counter((e.state, e.channel) for e in events)
    refused_range = len(SEQUENTIAL) - RANGE_CAP
    assert rungs[("escalated_failed", "sms")] == refused_range
    assert rungs[("sent", "in_app")] == refused_range  # every refused one asked in the app
    assert rungs[("sent", "sms")] == RANGE_CAP
    for n in premium_ids:  # SMS was their only channel: a person decides, nobody is released
        assert await settled(client, f"pay_pump_{n}") == "review"
        assert dialogue_events(settings.data_dir, f"pay_pump_{n}") == []  # nothing was tried

    metrics = await (await client.get("/metrics")).text()
    assert refused(metrics) == {"prefix_cap": refused_range}  # the premium ones never reach it
    print(f"pumping: {len(SEQUENTIAL) + len(PREMIUM)} challenges, {len(outbound)} SMS sent, "
          f"refused {refused(metrics)}")  # fmt: skip
