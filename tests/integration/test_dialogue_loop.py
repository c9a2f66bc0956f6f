"""The whole loop on embedded defaults: challenge → answer/no answer → verdict → label event."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from friction.events.file_bus import read_events
from friction.settings import Settings
from tests.conftest import CANONICAL, Client

StartApp = Callable[[Settings], Awaitable[Client]]


def payment(n: int, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(CANONICAL)
    body["payment_id"] = f"pay_loop_{n}"
    body.update(changes)
    return body


async def challenge(client: Client, n: int) -> dict[str, Any]:
    response = await client.post("/v1/score", json=payment(n))
    body: dict[str, Any] = await response.json()
    assert body["decision"] == "challenge", body
    assert body["dialogue"]["channel"] == "console"
    return body


async def test_confirm_in_app_releases_and_labels_genuine(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    settings = make_settings(challenge_at=0.0)
    client = await start_app(settings)
    scored = await challenge(client, 1)
    prompts = await (await client.get("/v1/customers/cus_42/prompts")).json()
    assert [p["dialogue_id"] for p in prompts] == [scored["dialogue"]["id"]]
    assert "ACME Electronics" in prompts[0]["text"]

    url = f"/v1/dialogues/{scored['dialogue']['id']}/answer"
    answered = await client.post(url, json={"token": prompts[0]["token"], "answer": "yes"})
    assert answered.status == 200, await answered.text()
    assert (await answered.json())["verdict"] == "released"

    again = await client.post(url, json={"token": prompts[0]["token"], "answer": "no"})
    assert again.status == 409  # single use
    status = await (await client.get("/v1/payments/pay_loop_1")).json()
    assert status["verdict"] == "released" and status["decision"] == "challenge"

    await client.close()
    labels = list(read_events(settings.event_log_dir, "labels"))
    assert [(e.label, e.source) for e in labels] == [("genuine", "customer_confirmed")]  # type: ignore[union-attr]
    states = [e.state for e in read_events(settings.event_log_dir, "dialogues")]  # type: ignore[union-attr]
    assert states[0] == "created" and states[-1] == "answered"


async def test_wrong_or_foreign_token_is_refused_without_state_change(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    client = await start_app(make_settings(challenge_at=0.0))
    scored = await challenge(client, 2)
    dialogue_id = scored["dialogue"]["id"]
    url = f"/v1/dialogues/{dialogue_id}/answer"
    forged = await client.post(url, json={"token": "9999999999.forged-signature", "answer": "yes"})
    assert forged.status == 403
    unknown = await client.post(
        "/v1/dialogues/dlg_nope/answer", json={"token": "1" * 12, "answer": "yes"}
    )
    assert unknown.status == 404
    bad = await client.post(url, json={"token": "x" * 12, "answer": "maybe"})
    assert bad.status == 422
    status = await (await client.get("/v1/payments/pay_loop_2")).json()
    assert status["verdict"] == "pending"


async def test_sms_reply_no_blocks_and_labels_fraud(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    settings = make_settings(challenge_at=0.0, dev_endpoints=True)
    client = await start_app(settings)
    await challenge(client, 3)
    stranger = await client.post("/v1/dev/sms", json={"phone": "+447700900999", "body": "YES"})
    assert (await stranger.json())["reply"] == ""
    reply = await client.post("/v1/dev/sms", json={"phone": "+447700900123", "body": "no"})
    assert reply.status == 200
    status = await (await client.get("/v1/payments/pay_loop_3")).json()
    assert status["verdict"] == "blocked"
    await client.close()
    labels = list(read_events(settings.event_log_dir, "labels"))
    assert [(e.label, e.source) for e in labels] == [("fraud", "customer_denied")]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("silence", "expected"),
    [
        ({"no_answer_verdict": "review"}, "review"),
        ({"no_answer_verdict": "blocked"}, "blocked"),
        ({}, "review"),  # weighed: a review costs less than refusing a likely good customer
        ({"review_cost_minor": 10**9}, "blocked"),  # weighed, and reviews dearer than that
    ],
)
async def test_no_answer_by_expiry_gives_the_verdict_chosen_when_asked(
    make_settings: Callable[..., Settings],
    start_app: StartApp,
    silence: dict[str, Any],
    expected: str,
) -> None:
    settings = make_settings(challenge_at=0.0, dialogue_ttl_seconds=0.2, **silence)
    client = await start_app(settings)
    await challenge(client, 4)
    for _ in range(600):  # up to 30 s: a busy machine's timers run late
        status = await (await client.get("/v1/payments/pay_loop_4")).json()
        if status["verdict"] != "pending":
            break
        await asyncio.sleep(0.05)
    assert status["verdict"] == expected
    await client.close()
    labels = list(read_events(settings.event_log_dir, "labels"))
    assert [(e.label, e.source) for e in labels] == [("no_answer", "no_answer")]  # type: ignore[union-attr]


async def test_state_survives_a_restart(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    settings = make_settings(challenge_at=0.0)
    first = await start_app(settings)
    scored = await challenge(first, 5)
    await first.close()

    second = await start_app(settings)
    status = await (await second.get("/v1/payments/pay_loop_5")).json()
    assert status["verdict"] == "pending"
    prompts = await (await second.get("/v1/customers/cus_42/prompts")).json()
    assert [p["dialogue_id"] for p in prompts] == [scored["dialogue"]["id"]]
    url = f"/v1/dialogues/{scored['dialogue']['id']}/answer"
    answered = await second.post(url, json={"token": prompts[0]["token"], "answer": "yes"})
    assert (await answered.json())["verdict"] == "released"
    # feature state survived too: the customer's history counts the first payment
    await second.post("/v1/score", json=payment(6))
    await second.close()
    decisions = {e.payment_id: e for e in read_events(settings.event_log_dir, "decisions")}
    features = decisions["pay_loop_6"].features  # type: ignore[union-attr]
    assert features["cust_count_1d"] == 2.0


async def test_budget_turns_further_challenges_into_reviews(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    client = await start_app(make_settings(challenge_at=0.0, friction_budget=2))
    decisions = []
    for n in range(10, 14):
        body = await (await client.post("/v1/score", json=payment(n))).json()
        decisions.append(body["decision"])
    assert decisions == ["challenge", "challenge", "review", "review"]


async def test_chargeback_label_is_accepted_and_published(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    settings = make_settings()
    client = await start_app(settings)
    await client.post("/v1/score", json=payment(20))
    response = await client.post(
        "/v1/payments/pay_loop_20/labels", json={"label": "fraud", "source": "chargeback"}
    )
    assert response.status == 202
    unknown = await client.post(
        "/v1/payments/nope/labels", json={"label": "fraud", "source": "chargeback"}
    )
    assert unknown.status == 404
    await client.close()
    labels = list(read_events(settings.event_log_dir, "labels"))
    assert [(e.payment_id, e.label) for e in labels] == [("pay_loop_20", "fraud")]


async def next_prompts(stream: aiohttp.StreamReader) -> list[dict[str, Any]]:
    """The data of the next ``prompts`` event on an SSE stream (comments skipped)."""
    event = ""
    while True:
        line = (await stream.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == "prompts":
            found: list[dict[str, Any]] = json.loads(line.removeprefix("data: "))
            return found


@pytest.mark.redis
async def test_a_prompt_opened_on_one_replica_reaches_a_stream_on_another(
    make_settings: Callable[..., Settings], start_app: StartApp, redis_url: str
) -> None:
    settings = make_settings(challenge_at=0.0, store=redis_url, prompt_refresh_seconds=0.2)
    scorer, app_side = await start_app(settings), await start_app(settings)
    unique = uuid.uuid4().hex[:8]  # the session's Redis is shared with other tests
    body = payment(7, payment_id=f"pay_sse_{unique}")
    body["customer"]["id"] = customer = f"cus_sse_{unique}"
    headers = {"Accept": "text/event-stream"}
    async with app_side.get(f"/v1/customers/{customer}/prompts", headers=headers) as stream:
        assert await asyncio.wait_for(next_prompts(stream.content), 5) == []
        scored = await (await scorer.post("/v1/score", json=body)).json()  # other replica
        assert scored["decision"] == "challenge", scored
        prompts = await asyncio.wait_for(next_prompts(stream.content), 5)
    assert [p["dialogue_id"] for p in prompts] == [scored["dialogue"]["id"]]
