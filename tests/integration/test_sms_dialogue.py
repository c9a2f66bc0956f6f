"""SMS dialogues end to end: the service, the real ``twilio`` SDK and the fake Twilio.

Score → the fake records the outbound SMS → a reply is injected through the fake
(``POST /_fake/inbound``: signed like Twilio and posted to the service's webhook) →
TwiML answer, verdict and events. Everything runs in this event loop on loopback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from friction.dialogue.templates import render
from friction.dialogue.twilio_signature import SIGNATURE_HEADER, sign
from friction.settings import Settings
from tests.conftest import Client
from tests.dialogues import (
    PHONE,
    FakeSms,
    StartApp,
    challenge,
    dialogue_events,
    eventually,
    label_events,
    payment,
    settled,
    start_sms_service,
    transfer,
    twiml_text,
    verdict,
)

# 60 s: the first test also pays for the session fixtures (a tiny model is trained).
pytestmark = pytest.mark.timeout(60)
MakeSettings = Callable[..., Settings]


@pytest.fixture
async def sms(
    fake_sms: FakeSms, start_app: StartApp, make_settings: MakeSettings
) -> tuple[Client, Settings]:
    """The service with the SMS channel only."""
    return await start_sms_service(start_app, fake_sms, make_settings)


async def on_channel(settings: Settings, payment_id: str, channel: str) -> bool:
    """Whether the dialogue has been sent on ``channel`` (read from the event log)."""
    events = dialogue_events(settings.data_dir, payment_id)
    return any(e.state == "sent" and e.channel == channel for e in events)


async def asked(fake: FakeSms, count: int = 1) -> list[str]:
    """Wait for ``count`` outbound SMS to the customer; return their bodies."""

    async def enough() -> bool:
        return len(fake.outbound()) >= count

    await eventually(enough)
    return fake.outbound()


async def test_yes_releases_labels_genuine_and_tracks_delivery(
    sms: tuple[Client, Settings], fake_sms: FakeSms
) -> None:
    client, settings = sms
    await challenge(client, payment("pay_sms_yes"))
    [body] = await asked(fake_sms)
    assert body.startswith("Did you just pay EUR 420.00 at ACME Electronics")
    assert "4242" in body and "http" not in body

    async def delivered() -> bool:
        return any(c["params"]["MessageStatus"] == "delivered" for c in fake_sms.state.callbacks)

    await eventually(delivered)
    twiml = await fake_sms.reply("Yes!!")
    assert twiml_text(twiml) == render("thanks_confirmed", "en").text
    assert await verdict(client, "pay_sms_yes") == "released"
    await client.close()
    states = [e.state for e in dialogue_events(settings.data_dir, "pay_sms_yes")]
    assert states == ["created", "sent", "delivered", "answered"]
    labels = label_events(settings.data_dir, "pay_sms_yes")
    assert [(e.label, e.source) for e in labels] == [("genuine", "customer_confirmed")]


async def test_arabic_no_blocks_and_labels_fraud(
    sms: tuple[Client, Settings], fake_sms: FakeSms
) -> None:
    client, settings = sms
    await challenge(client, payment("pay_sms_no", locale="ar-AE"))
    [body] = await asked(fake_sms)
    assert body.startswith("هل دفعت الآن") and "٤٢٤٢" in body
    twiml = await fake_sms.reply("لا")
    assert twiml_text(twiml) == render("thanks_denied", "ar", last4="4242").text
    assert await verdict(client, "pay_sms_no") == "blocked"
    await client.close()
    labels = label_events(settings.data_dir, "pay_sms_no")
    assert [(e.label, e.source) for e in labels] == [("fraud", "customer_denied")]


async def test_unclear_reply_reasks_once_then_review(
    sms: tuple[Client, Settings], fake_sms: FakeSms
) -> None:
    client, settings = sms
    await challenge(client, payment("pay_sms_maybe"))
    await asked(fake_sms)
    assert twiml_text(await fake_sms.reply("maybe")) == render("reask", "en").text
    assert await verdict(client, "pay_sms_maybe") == "pending"
    assert twiml_text(await fake_sms.reply("hmm not sure")) == render("review_notice", "en").text
    assert await verdict(client, "pay_sms_maybe") == "review"
    await client.close()
    states = [e.state for e in dialogue_events(settings.data_dir, "pay_sms_maybe")]
    assert states.count("reasked") == 1 and states[-1] == "answered"
    assert label_events(settings.data_dir, "pay_sms_maybe") == []


async def test_new_payee_yes_then_scam_yes_goes_to_review(
    sms: tuple[Client, Settings], fake_sms: FakeSms
) -> None:
    client, _ = sms
    await challenge(client, transfer("pay_sms_scam"))
    [body] = await asked(fake_sms)
    assert "J. Smith" in body and "9911" in body
    scam_question = twiml_text(await fake_sms.reply("yes"))
    how = render("answer_yes_no", "en").text
    assert scam_question == f"{render('scam_question', 'en').text} {how}"
    assert await verdict(client, "pay_sms_scam") == "pending"
    assert twiml_text(await fake_sms.reply("YES")) == render("scam_pause", "en").text
    assert await verdict(client, "pay_sms_scam") == "review"  # even after "yes, it was me"


async def test_stop_opts_out_moves_to_the_app_and_never_releases(
    fake_sms: FakeSms, start_app: StartApp, make_settings: MakeSettings
) -> None:
    client, settings = await start_sms_service(
        start_app, fake_sms, make_settings, default_channels=["sms", "in_app"]
    )
    await challenge(client, payment("pay_sms_stop"))
    await asked(fake_sms)
    assert twiml_text(await fake_sms.reply("STOP")) == render("opted_out", None).text
    await eventually(lambda: on_channel(settings, "pay_sms_stop", "in_app"))  # next rung
    # an opted-out customer's "yes" re-subscribes (Twilio's rule), it never approves
    assert twiml_text(await fake_sms.reply("YES")) == render("opted_in", None).text
    await fake_sms.reply("STOP")
    assert await verdict(client, "pay_sms_stop") == "pending"

    scored = await challenge(client, payment("pay_sms_stop_2"))
    assert scored["dialogue"]["channel"] == "in_app"  # no SMS while opted out
    assert twiml_text(await fake_sms.reply("START")) == render("opted_in", None).text
    scored = await challenge(client, payment("pay_sms_start"))
    assert scored["dialogue"]["channel"] == "sms"
    assert len(await asked(fake_sms, 2)) == 2  # the first prompt and the one after START
    await client.close()
    states = [e.state for e in dialogue_events(settings.data_dir, "pay_sms_stop")]
    assert "escalated_opted_out" in states and "answered" not in states


async def test_help_answers_and_keeps_waiting(
    sms: tuple[Client, Settings], fake_sms: FakeSms
) -> None:
    client, _ = sms
    assert twiml_text(await fake_sms.reply("HELP")) == render("help", None).text  # no dialogue
    await challenge(client, payment("pay_sms_help"))
    await asked(fake_sms)
    assert twiml_text(await fake_sms.reply("help")) == render("help", "en").text
    assert await verdict(client, "pay_sms_help") == "pending"
    await fake_sms.reply("no")
    assert await verdict(client, "pay_sms_help") == "blocked"


async def test_replayed_message_sid_counts_once(
    sms: tuple[Client, Settings], fake_sms: FakeSms
) -> None:
    client, settings = sms
    await challenge(client, payment("pay_sms_replay"))
    await asked(fake_sms)
    sid = "SM" + "ab" * 16
    assert twiml_text(await fake_sms.reply("maybe", sid=sid)) == render("reask", "en").text
    assert twiml_text(await fake_sms.reply("maybe", sid=sid)) == ""  # replay: nothing
    assert await verdict(client, "pay_sms_replay") == "pending"  # not "review"
    await client.close()
    states = [e.state for e in dialogue_events(settings.data_dir, "pay_sms_replay")]
    assert states.count("reasked") == 1


async def test_reply_from_another_number_is_ignored(
    sms: tuple[Client, Settings], fake_sms: FakeSms
) -> None:
    client, _ = sms
    await challenge(client, payment("pay_sms_other"))
    await asked(fake_sms)
    assert twiml_text(await fake_sms.reply("YES", sender="+447700900999")) == ""
    assert await verdict(client, "pay_sms_other") == "pending"


async def test_oversized_or_binary_bodies_are_ignored(
    sms: tuple[Client, Settings], fake_sms: FakeSms
) -> None:
    client, _ = sms
    await challenge(client, payment("pay_sms_junk"))
    await asked(fake_sms)
    assert twiml_text(await fake_sms.reply("YES " + "x" * 1600)) == ""  # over Twilio's 1600
    assert twiml_text(await fake_sms.reply("YES\x00")) == ""
    assert await verdict(client, "pay_sms_junk") == "pending"


async def post_form(client: Client, path: str, form: dict[str, str], signature: str | None) -> int:
    headers = {SIGNATURE_HEADER: signature} if signature is not None else {}
    async with aiohttp.ClientSession() as session:
        url = str(client.make_url(path))
        async with session.post(url, data=form, headers=headers) as response:
            return response.status


async def test_forged_tampered_or_unsigned_webhooks_are_refused(
    sms: tuple[Client, Settings], fake_sms: FakeSms
) -> None:
    client, settings = sms
    await challenge(client, payment("pay_sms_forged"))
    await asked(fake_sms)
    url = settings.public_url + "/webhooks/twilio/sms"
    form: dict[str, Any] = {"From": PHONE, "Body": "NO", "MessageSid": "SM" + "cd" * 16}
    token = fake_sms.state.auth_token
    genuine = sign(url, form, token)
    assert await post_form(client, "/webhooks/twilio/sms", form, None) == 403
    assert await post_form(client, "/webhooks/twilio/sms", form, sign(url, form, "guess")) == 403
    tampered = form | {"Body": "YES"}
    assert await post_form(client, "/webhooks/twilio/sms", tampered, genuine) == 403
    sid = fake_sms.state.messages[0]["sid"]
    failed = {"MessageSid": sid, "MessageStatus": "failed"}
    assert await post_form(client, "/webhooks/twilio/status", failed, "forged") == 403
    assert await verdict(client, "pay_sms_forged") == "pending"
    # the genuine request was never processed: its MessageSid still counts
    assert await post_form(client, "/webhooks/twilio/sms", form, genuine) == 200
    assert await verdict(client, "pay_sms_forged") == "blocked"


async def test_failed_delivery_climbs_to_the_next_rung(
    fake_sms: FakeSms, start_app: StartApp, make_settings: MakeSettings
) -> None:
    client, settings = await start_sms_service(
        start_app, fake_sms, make_settings, default_channels=["sms", "in_app"]
    )
    fake_sms.state.config.fail_numbers = [PHONE]
    await challenge(client, payment("pay_sms_failed"))
    await eventually(lambda: on_channel(settings, "pay_sms_failed", "in_app"))
    assert await verdict(client, "pay_sms_failed") == "pending"  # the app asks now
    await client.close()
    events = dialogue_events(settings.data_dir, "pay_sms_failed")
    assert [(e.state, e.channel) for e in events] == [
        ("created", "sms"),
        ("sent", "sms"),
        ("escalated_failed", "sms"),
        ("created", "in_app"),
        ("sent", "in_app"),
    ]


async def test_failed_delivery_on_the_last_rung_goes_to_review(
    sms: tuple[Client, Settings], fake_sms: FakeSms
) -> None:
    client, _ = sms
    fake_sms.state.config.fail_numbers = [PHONE]
    await challenge(client, payment("pay_sms_failed_last"))
    assert await settled(client, "pay_sms_failed_last") == "review"


async def test_status_callbacks_without_carrier_delay_still_count(
    sms: tuple[Client, Settings], fake_sms: FakeSms
) -> None:
    """Callbacks sent at once (no carrier delay) race the commit of the send; both land."""
    client, settings = sms
    fake_sms.state.config.callback_delay_seconds = 0.0
    fake_sms.state.config.fail_numbers = ["+447700900002"]
    first = payment("pay_sms_fast")
    await challenge(client, first)
    second = payment("pay_sms_fast_failed")
    second["customer"] = {"id": "cus_fast", "phone": "+447700900002", "locale": "en-GB"}
    await challenge(client, second)
    assert await settled(client, "pay_sms_fast_failed") == "review"  # failed, no next rung

    async def delivered() -> bool:
        return "delivered" in [e.state for e in dialogue_events(settings.data_dir, "pay_sms_fast")]

    await eventually(delivered, within_s=30.0)
