"""A declined or blocked customer is told what happened, and can ask for a person.

Through the real service: the decline notice goes out after the commit on the customer's
first channel (Twilio through the real SDK against the local fake, or the app), SMS
within the abuse guard's caps; "AGENT" by text, or the app's contest route with the
customer's session, opens the same ``contest`` review item, once per payment, only for
the customer's own declined or blocked payment of their own tenant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from friction.api.keys import STORE
from friction.dialogue.notices import declined_text
from friction.dialogue.templates import render, sms_segments
from friction.domain.payment import Payment
from friction.settings import Settings
from tests.conftest import PRODUCTION_SECRETS, Client
from tests.dialogues import (
    PHONE,
    FakeSms,
    StartApp,
    eventually,
    payment,
    start_sms_service,
    twiml_text,
    verdict,
)

pytestmark = pytest.mark.timeout(60)
MakeSettings = Callable[..., Settings]
KEYS = {"acme": "key-acme-0123456789", "globex": "key-globex-9876543210"}
NOTICE = (
    "We declined your payment of EUR 420.00 at ACME Electronics with your card ending 4242. "
    "If it was you, reply AGENT to talk to a person."
)


async def call(
    client: Client, method: str, url: str, expect: int, json: Any = None, token: str = ""
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.request(method, url, json=json, headers=headers)
    body = await response.json()
    assert response.status == expect, body
    return body


async def declined(client: Client, body: dict[str, Any], key: str = "") -> None:
    scored = await call(client, "POST", "/v1/score", 200, body, key)
    assert scored["decision"] == "decline", scored


async def test_a_declined_customer_is_texted_and_agent_opens_a_contest(
    fake_sms: FakeSms, start_app: StartApp, make_settings: MakeSettings
) -> None:
    client, _ = await start_sms_service(start_app, fake_sms, make_settings, decline_at=0.0)
    await declined(client, payment("pay_dn_1"))

    async def texted() -> bool:
        return bool(fake_sms.outbound())

    await eventually(texted)
    assert fake_sms.outbound() == [NOTICE]
    assert sms_segments(NOTICE) == 1

    handoff = render("human_handoff", "en-GB").text
    assert twiml_text(await fake_sms.reply("AGENT")) == handoff
    [item] = (await call(client, "GET", "/v1/reviews", 200))["items"]
    assert (item["payment_id"], item["reason"]) == ("pay_dn_1", "contest")
    assert await verdict(client, "pay_dn_1") == "blocked"  # until a person decides


async def test_french_notice_is_one_gsm7_message_and_names_the_way_to_a_person(
    fake_sms: FakeSms, start_app: StartApp, make_settings: MakeSettings
) -> None:
    client, _ = await start_sms_service(start_app, fake_sms, make_settings, decline_at=0.0)
    body = payment("pay_dn_fr", locale="fr-FR", amount={"value": 4200, "currency": "EUR"})
    await declined(client, body)

    async def texted() -> bool:
        return bool(fake_sms.outbound())

    await eventually(texted)
    [text] = fake_sms.outbound()
    assert text.startswith("Nous avons refusé votre paiement de 42,00 € chez ACME Electronics")
    assert text.endswith("répondez CONSEILLER pour parler à une personne.")
    assert sms_segments(text) == 2  # GSM-7 (é, à, € are in it): 153 characters a part
    assert twiml_text(await fake_sms.reply("conseiller")) == render("human_handoff", "fr").text


async def test_notices_pass_the_sms_guard_like_every_text(
    fake_sms: FakeSms, start_app: StartApp, make_settings: MakeSettings
) -> None:
    client, _ = await start_sms_service(
        start_app, fake_sms, make_settings, decline_at=0.0, sms_per_customer_cap=1
    )
    await declined(client, payment("pay_dn_cap_1"))
    await declined(client, payment("pay_dn_cap_2", amount={"value": 9900, "currency": "EUR"}))

    async def refused() -> bool:
        metrics = await (await client.get("/metrics")).text()
        return 'friction_sms_refused_total{reason="customer_cap"} 1.0' in metrics

    await eventually(refused)
    assert fake_sms.outbound() == [NOTICE]  # the second notice was refused by the cap


async def test_an_unreachable_customer_gets_no_notice_and_the_decision_stands(
    fake_sms: FakeSms, start_app: StartApp, make_settings: MakeSettings
) -> None:
    client, _ = await start_sms_service(start_app, fake_sms, make_settings, decline_at=0.0)
    body = payment("pay_dn_nophone")
    body["customer"] = {k: v for k, v in body["customer"].items() if k != "phone"}
    await declined(client, body)
    await declined(client, payment("pay_dn_after"))  # a reachable one, sent after it

    async def texted() -> bool:
        return bool(fake_sms.outbound())

    await eventually(texted)
    assert fake_sms.outbound() == [NOTICE]
    assert len(fake_sms.state.messages) == 1  # nothing for the customer without a phone


async def test_the_app_shows_the_notice_and_contests_with_the_customers_session(
    start_app: StartApp, make_settings: MakeSettings
) -> None:
    settings = make_settings(
        api_keys=KEYS,
        challenge_at=0.0,
        decline_at=0.0,
        default_channels=["in_app"],
        **PRODUCTION_SECRETS,
    )
    client = await start_app(settings)
    acme, globex = KEYS["acme"], KEYS["globex"]
    await declined(client, payment("pay_dn_app"), acme)
    mine = (await call(client, "POST", "/v1/customers/cus_42/sessions", 200, token=acme))["token"]
    other = (await call(client, "POST", "/v1/customers/cus_7/sessions", 200, token=acme))["token"]
    twin = (await call(client, "POST", "/v1/customers/cus_42/sessions", 200, token=globex))["token"]
    url = "/v1/customers/cus_42"

    [notice] = (await call(client, "GET", url + "/notices", 200, token=mine))["notices"]
    expected = declined_text(Payment.model_validate(payment("pay_dn_app")))
    assert notice["payment_id"] == "pay_dn_app" and notice["outcome"] == "declined"
    assert notice["text"] == expected and "AGENT" not in notice["text"]  # the app has a button
    assert notice["contested"] is False and notice["direction"] == "ltr"
    assert (await call(client, "GET", url + "/notices", 200, token=twin))["notices"] == []

    ask = {"payment_id": "pay_dn_app"}
    await call(client, "POST", url + "/contests", 401, ask)  # no session
    await call(client, "POST", url + "/contests", 403, ask, other)  # another customer's
    await call(client, "POST", url + "/contests", 404, ask, twin)  # same ids, other tenant
    await call(client, "POST", url + "/contests", 404, {"payment_id": "pay_nope"}, mine)
    bad = await call(client, "POST", url + "/contests", 422, {"payment": "x"}, mine)
    assert "payment_id" in bad["fields"]
    card = {"payment_id": "4111111111111111"}
    assert (await call(client, "POST", url + "/contests", 422, card, mine))["error"]

    opened = await call(client, "POST", url + "/contests", 201, ask, mine)
    assert opened == {"payment_id": "pay_dn_app", "review_id": "rev_pay_dn_app", "opened": True}
    again = await call(client, "POST", url + "/contests", 200, ask, mine)
    assert again["opened"] is False and again["review_id"] == "rev_pay_dn_app"
    [item] = (await call(client, "GET", "/v1/reviews", 200, token=acme))["items"]
    assert (item["reason"], item["payment_id"]) == ("contest", "pay_dn_app")
    assert (await call(client, "GET", "/v1/reviews", 200, token=globex))["items"] == []
    [notice] = (await call(client, "GET", url + "/notices", 200, token=mine))["notices"]
    assert notice["contested"] is True


async def test_only_a_declined_or_blocked_payment_can_be_contested(
    start_app: StartApp, make_settings: MakeSettings
) -> None:
    client = await start_app(make_settings(challenge_at=0.99, decline_at=0.995))
    scored = await call(client, "POST", "/v1/score", 200, payment("pay_dn_ok"))
    assert scored["decision"] == "allow"
    url = "/v1/customers/cus_42/contests"
    refused = await call(client, "POST", url, 409, {"payment_id": "pay_dn_ok"})
    assert "only a declined or blocked payment" in refused["message"]
    assert (await call(client, "GET", "/v1/customers/cus_42/notices", 200))["notices"] == []
    assert (await call(client, "GET", "/v1/reviews", 200))["items"] == []


async def test_a_no_in_the_app_is_contestable_there_too(
    start_app: StartApp, make_settings: MakeSettings
) -> None:
    client = await start_app(make_settings(challenge_at=0.0, default_channels=["in_app"]))
    scored = await call(client, "POST", "/v1/score", 200, payment("pay_dn_no"))
    assert scored["decision"] == "challenge"
    [prompt] = await call(client, "GET", "/v1/customers/cus_42/prompts", 200)
    answer = {"token": prompt["token"], "answer": "no"}
    status = await call(
        client, "POST", f"/v1/dialogues/{prompt['dialogue_id']}/answer", 200, answer
    )
    assert status["verdict"] == "blocked"
    [notice] = (await call(client, "GET", "/v1/customers/cus_42/notices", 200))["notices"]
    assert notice["outcome"] == "blocked" and notice["text"].startswith("We stopped your payment")
    opened = await call(client, "POST", "/v1/customers/cus_42/contests", 201,
                        {"payment_id": "pay_dn_no"})  # fmt: skip
    assert opened["opened"] is True


async def test_erasing_the_customer_erases_their_notices(
    start_app: StartApp, make_settings: MakeSettings
) -> None:
    client = await start_app(make_settings(challenge_at=0.0, decline_at=0.0))
    await declined(client, payment("pay_dn_erased"))
    store = client.server.app[STORE]
    now = datetime.now(UTC).timestamp()
    for key in ("app:cus_42", PHONE):  # the app's notice, the SMS contest mark
        assert await store.read_mark("contestable_decline", key, now) is not None
    await call(client, "DELETE", "/v1/customers/cus_42", 200)
    for key in ("app:cus_42", PHONE):
        assert await store.read_mark("contestable_decline", key, now) is None
    assert (await call(client, "GET", "/v1/customers/cus_42/notices", 200))["notices"] == []


async def test_a_bank_that_notifies_its_customers_itself_turns_notices_off(
    fake_sms: FakeSms, start_app: StartApp, make_settings: MakeSettings
) -> None:
    client, _ = await start_sms_service(
        start_app, fake_sms, make_settings, decline_at=0.0, decline_notices=False
    )
    await declined(client, payment("pay_dn_quiet"))
    # a notice goes out within milliseconds when on (the tests above): a second is ample
    await asyncio.sleep(1.0)
    assert fake_sms.outbound() == []
    handoff = render("human_handoff", "en-GB").text  # the customer can still contest
    assert twiml_text(await fake_sms.reply("AGENT")) == handoff
