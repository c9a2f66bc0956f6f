"""SMS replies that mean what they say, with two tenants texting one phone.

Through the real ``twilio`` SDK, the fake Twilio and signed webhooks: a reply answers
only a question the customer was asked in the message they answer; numbers are not
answers; "a person, please" is an answer of its own; every answer counts under the
channel it came from. On the embedded store and on Redis.
"""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from friction.dialogue.templates import render
from friction.settings import Settings
from tests.conftest import CANONICAL, PRODUCTION_SECRETS, Client
from tests.dialogues import (
    PHONE,
    FakeSms,
    StartApp,
    dialogue_events,
    eventually,
    label_events,
    start_sms_service,
    twiml_text,
)
from tests.servers import ServerProcess

pytestmark = pytest.mark.timeout(90)
KEYS = {"acme": "key-acme-0123456789", "globex": "key-globex-9876543210"}
REFERENCE = re.compile(r"YES (\d{4}) or NO \1")


def gateway(tenant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[tenant]}"}


def body(payment_id: str, amount: int = 42000, **changes: Any) -> dict[str, Any]:
    payment = copy.deepcopy(CANONICAL)
    payment["payment_id"] = payment_id
    payment["amount"]["value"] = amount
    payment.update(changes)
    return payment


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
async def store_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    if request.param == "embedded":
        yield "embedded"
        return
    server: ServerProcess = request.getfixturevalue("redis_server")
    url = f"redis://127.0.0.1:{server.port}/13"
    redis = Redis.from_url(url)
    await redis.flushdb()
    yield url
    await redis.flushdb()
    await redis.aclose()


@pytest.fixture
async def service(
    store_url: str, fake_sms: FakeSms, start_app: StartApp, make_settings: Callable[..., Settings]
) -> tuple[Client, Settings]:
    """Two tenants, both asking by SMS first, then in the app."""
    return await start_sms_service(
        start_app, fake_sms, make_settings, store=store_url, api_keys=KEYS,
        default_channels=["sms", "in_app"], **PRODUCTION_SECRETS,
    )  # fmt: skip


async def score(client: Client, tenant: str, payment: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/score", json=payment, headers=gateway(tenant))
    scored: dict[str, Any] = await response.json()
    assert response.status == 200 and scored["decision"] == "challenge", scored
    return scored


async def verdict(client: Client, tenant: str, payment_id: str) -> str:
    response = await client.get(f"/v1/payments/{payment_id}", headers=gateway(tenant))
    return str((await response.json())["verdict"])


async def texted(fake: FakeSms, count: int) -> list[str]:
    async def enough() -> bool:
        return len(fake.outbound()) >= count

    await eventually(enough)
    return fake.outbound()


async def test_a_reply_answers_only_the_question_it_names(
    service: tuple[Client, Settings], fake_sms: FakeSms
) -> None:
    client, settings = service
    await score(client, "acme", body("pay_1"))
    [first] = await texted(fake_sms, 1)
    assert REFERENCE.search(first) is None  # one open question: a plain YES or NO will do
    await score(client, "globex", body("pay_1", amount=1200))  # same payment id, same phone
    second = (await texted(fake_sms, 2))[1]
    found = REFERENCE.search(second)
    assert found is not None, second  # the second question says how to name it
    globex_ref = found.group(1)

    listed = twiml_text(await fake_sms.reply("YES"))  # which one? neither is decided
    assert listed.startswith(render("which_payment", "en-GB").text)
    assert "EUR 420.00" in listed and "EUR 12.00" in listed and f"ref {globex_ref}" in listed
    assert await verdict(client, "acme", "pay_1") == await verdict(client, "globex", "pay_1")
    assert await verdict(client, "acme", "pay_1") == "pending"

    assert twiml_text(await fake_sms.reply("YES 9999")) == listed  # no such reference
    confirmed = twiml_text(await fake_sms.reply(f"yes {globex_ref}"))
    assert confirmed == render("thanks_confirmed", "en-GB").text
    assert await verdict(client, "globex", "pay_1") == "released"
    assert await verdict(client, "acme", "pay_1") == "pending"
    await fake_sms.reply("no")  # one question left open: a plain answer is clear again
    assert await verdict(client, "acme", "pay_1") == "blocked"
    await client.close()
    labels = {(e.payment_id, e.label) for e in label_events(settings.data_dir)}
    assert labels == {("globex/pay_1", "genuine"), ("acme/pay_1", "fraud")}


@pytest.mark.parametrize(
    "text", ["my card ends in 1111", "i only paid 11 pounds", "1", "yes 48211", "YES or NO"]
)
async def test_numbers_and_mixed_text_are_asked_again_never_released(
    service: tuple[Client, Settings], fake_sms: FakeSms, text: str
) -> None:
    client, _ = service
    await score(client, "acme", body("pay_num"))
    await texted(fake_sms, 1)
    again = twiml_text(await fake_sms.reply(text))
    assert again == render("reask", "en-GB").text
    assert await verdict(client, "acme", "pay_num") == "pending"


async def test_a_person_please_is_an_answer_counted_where_it_came_from(
    service: tuple[Client, Settings], fake_sms: FakeSms
) -> None:
    client, settings = service
    await score(client, "acme", body("pay_sms_h"))
    await texted(fake_sms, 1)
    await fake_sms.reply("AGENT please")
    assert await verdict(client, "acme", "pay_sms_h") == "review"

    # a customer reached by SMS first who answers in the app: counted under in_app
    scored = await score(client, "acme", body("pay_app_y", customer={"id": "cus_43"}))
    made = await client.post("/v1/customers/cus_43/sessions", headers=gateway("acme"))
    session = {"Authorization": f"Bearer {(await made.json())['token']}"}
    [prompt] = await (await client.get("/v1/customers/cus_43/prompts", headers=session)).json()
    answered = await client.post(
        f"/v1/dialogues/{scored['dialogue']['id']}/answer",
        json={"token": prompt["token"], "answer": "yes"},
        headers=session,
    )
    assert answered.status == 200
    await client.close()
    ends = {
        e.payment_id: (e.state, e.channel, e.answer)
        for e in dialogue_events(settings.data_dir)
        if e.state == "answered"
    }
    assert ends == {
        "acme/pay_sms_h": ("answered", "sms", "human"),
        "acme/pay_app_y": ("answered", "in_app", "yes"),
    }
    assert [e.payment_id for e in label_events(settings.data_dir)] == ["acme/pay_app_y"]


async def test_phone_shared_across_tenants_is_answered_by_reference_in_arabic(
    service: tuple[Client, Settings], fake_sms: FakeSms
) -> None:
    client, _ = service
    arabic = {"id": "cus_42", "phone": PHONE, "locale": "ar-AE"}
    await score(client, "acme", body("pay_ar", customer=arabic))
    await texted(fake_sms, 1)
    await score(client, "globex", body("pay_ar", amount=500, customer=arabic))
    second = (await texted(fake_sms, 2))[1]
    found = re.search(r"نعم ([٠-٩]{4})", second)
    assert found is not None, second  # the reference in the digits the language writes
    answer = twiml_text(await fake_sms.reply(f"نعم {found.group(1)}"))
    assert answer == render("thanks_confirmed", "ar-AE").text
    assert await verdict(client, "globex", "pay_ar") == "released"
    assert await verdict(client, "acme", "pay_ar") == "pending"
