"""The escalation ladder over time, and a restart in the middle of open dialogues.

in_app → sms after ``ladder_step_seconds`` → expiry → the configured default verdict;
then: close the service while dialogues are open, start a new one on the same data
directory, and check that nothing was lost and nothing was decided twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import pytest

from friction.dialogue.templates import render
from friction.settings import Settings
from tests.dialogues import (
    FakeSms,
    StartApp,
    challenge,
    dialogue_events,
    eventually,
    label_events,
    payment,
    settled,
    start_sms_service,
    twiml_text,
    verdict,
)

# 60 s: the first test also pays for the session fixtures (a tiny model is trained).
pytestmark = pytest.mark.timeout(60)
MakeSettings = Callable[..., Settings]
TERMINAL = {"answered", "expired", "opted_out", "failed"}


async def test_in_app_then_sms_then_expiry_gives_the_default_verdict(
    fake_sms: FakeSms, start_app: StartApp, make_settings: MakeSettings
) -> None:
    client, settings = await start_sms_service(
        start_app,
        fake_sms,
        make_settings,
        default_channels=["in_app", "sms"],
        ladder_step_seconds=0.2,
        dialogue_ttl_seconds=3.0,  # the SMS rung asks at 0.2 s: even a stalled timer gets there
        no_answer_verdict="review",
    )
    scored = await challenge(client, payment("pay_ladder"))
    assert scored["dialogue"]["channel"] == "in_app"
    assert fake_sms.outbound() == []  # the app asks first

    assert await settled(client, "pay_ladder") == "review"
    assert len(fake_sms.outbound()) == 1  # the SMS rung asked, once
    await client.close()
    events = [(e.state, e.channel) for e in dialogue_events(settings.data_dir, "pay_ladder")]
    assert [x for x in events if x[0] != "delivered"] == [
        ("created", "in_app"),
        ("sent", "in_app"),
        ("escalated_no_answer", "in_app"),
        ("created", "sms"),
        ("sent", "sms"),
        ("expired", "sms"),
    ]
    labels = label_events(settings.data_dir, "pay_ladder")
    assert [(e.label, e.source) for e in labels] == [("no_answer", "no_answer")]


def customer_payment(n: int) -> dict[str, object]:
    """Payment n of its own customer (own phone): the budget and replies stay apart."""
    body = payment(f"pay_restart_{n}")
    body["customer"] = {"id": f"cus_r{n}", "phone": f"+44770090{n:04d}", "locale": "en-GB"}
    return body


async def test_restart_with_open_dialogues_loses_nothing_and_decides_once(
    fake_sms: FakeSms, start_app: StartApp, make_settings: MakeSettings
) -> None:
    over = {
        "default_channels": ["in_app", "sms"],
        "ladder_step_seconds": 0.3,
        "dialogue_ttl_seconds": 8.0,  # climbed at 0.3 s, the restart well before expiry
        "no_answer_verdict": "blocked",
    }
    first, settings = await start_sms_service(start_app, fake_sms, make_settings, **over)
    for n in range(1, 5):
        await challenge(first, customer_payment(n))

    async def all_on_sms() -> bool:
        return all(fake_sms.outbound(f"+44770090{n:04d}") for n in range(1, 5))

    await eventually(all_on_sms, within_s=6.0)  # every dialogue climbed; none expired yet
    await first.close()  # the "kill": timers and sends in flight are cancelled

    port = int(settings.public_url.rsplit(":", 1)[1])
    second = await start_app(settings, port=port)  # same data_dir, same public URL
    prompts = await (await second.get("/v1/customers/cus_r1/prompts")).json()
    assert [p["payment_id"] for p in prompts] == ["pay_restart_1"]
    url = f"/v1/dialogues/{prompts[0]['dialogue_id']}/answer"
    answered = await second.post(url, json={"token": prompts[0]["token"], "answer": "yes"})
    assert answered.status == 200
    # the SMS rung survived the restart: a reply to the text sent before it still counts
    denied = await fake_sms.reply("no", sender="+447700900002")
    assert twiml_text(denied) == render("thanks_denied", "en-GB", last4="4242").text

    verdicts = [await settled(second, f"pay_restart_{n}") for n in range(1, 5)]
    assert verdicts == ["released", "blocked", "blocked", "blocked"]  # 3 and 4 expired
    await asyncio.sleep(0.3)  # a few more timer sweeps: nothing may change any more
    assert [await verdict(second, f"pay_restart_{n}") for n in range(1, 5)] == verdicts
    await second.close()

    events = dialogue_events(settings.data_dir)
    assert len({e.event_id for e in events}) == len(events)  # no transition published twice
    ends = Counter(e.payment_id for e in events if e.state in TERMINAL)
    assert ends == {f"pay_restart_{n}": 1 for n in range(1, 5)}
    labels = Counter(e.payment_id for e in label_events(settings.data_dir))
    assert all(count <= 1 for count in labels.values()) and len(labels) == 4
