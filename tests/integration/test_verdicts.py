"""Verdicts reach the gateway: signed webhooks with retries, long-polls, confirm-then-retry.

A tiny aiohttp app on loopback plays the gateway: it verifies ``Friction-Signature``
with ``friction.events.webhooks.verify`` and de-duplicates on ``Friction-Event-Id``,
as the integration guide asks gateways to do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web

from friction.api.keys import STORE
from friction.domain.records import Change
from friction.events.webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, verify
from friction.settings import Settings
from tests.conftest import Client
from tests.dialogues import (
    StartApp,
    challenge,
    dialogue_events,
    eventually,
    payment,
    verdict,
)
from tests.servers import receiver

# 60 s: the first test also pays for the session fixtures (a tiny model is trained).
pytestmark = pytest.mark.timeout(60)
SECRET = "gateway-shared-secret-for-tests"


@dataclass
class Gateway:
    """What the gateway saw: every attempt, and the verdicts it acted on (once per event)."""

    url: str = ""
    fail_first: int = 0
    attempts: list[tuple[str, bool]] = field(default_factory=list)
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        event_id = request.headers.get(EVENT_ID_HEADER, "")
        signed = verify(
            SECRET.encode(), request.headers.get(SIGNATURE_HEADER, ""), body, time.time()
        )
        self.attempts.append((event_id, signed))
        if not signed:
            return web.Response(status=401)
        if len(self.attempts) <= self.fail_first:
            return web.Response(status=503)  # a gateway having a bad moment
        self.verdicts.setdefault(event_id, orjson.loads(body))  # dedupe by event id
        return web.Response(status=204)


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    """The gateway's webhook receiver on 127.0.0.1."""
    state = Gateway()
    async with receiver("/friction/verdicts", state.receive) as state.url:
        yield state


@pytest.fixture
async def service(
    gateway: Gateway, start_app: StartApp, make_settings: Callable[..., Settings]
) -> tuple[Client, Settings]:
    """In-app dialogues, verdicts POSTed to the gateway."""
    settings = make_settings(
        challenge_at=0.0,
        default_channels=["in_app"],
        gateway_callback_url=gateway.url,
        gateway_callback_secret=SECRET,
    )
    return await start_app(settings), settings


async def answer(client: Client, customer: str, reply: str) -> dict[str, Any]:
    """Answer the customer's newest prompt in the app."""
    prompts = await (await client.get(f"/v1/customers/{customer}/prompts")).json()
    url = f"/v1/dialogues/{prompts[0]['dialogue_id']}/answer"
    response = await client.post(url, json={"token": prompts[0]["token"], "answer": reply})
    body: dict[str, Any] = await response.json()
    assert response.status == 200, body
    return body


async def test_webhook_is_signed_retried_and_delivered_once(
    service: tuple[Client, Settings], gateway: Gateway
) -> None:
    client, _ = service
    gateway.fail_first = 2
    await challenge(client, payment("pay_hook"))
    await answer(client, "cus_42", "yes")

    async def delivered() -> bool:
        return bool(gateway.verdicts)

    await eventually(delivered, within_s=30.0)  # backoff 0.5 s, then 1 s
    await asyncio.sleep(0.3)  # no late duplicate after the success
    assert gateway.attempts == [("verdict:pay_hook:released", True)] * 3
    [(event_id, body)] = gateway.verdicts.items()
    assert event_id == "verdict:pay_hook:released"
    assert body["payment_id"] == "pay_hook" and body["verdict"] == "released"
    assert body["answer"] == "yes"


async def test_long_poll_returns_as_soon_as_the_verdict_lands(
    service: tuple[Client, Settings],
) -> None:
    client, _ = service
    await challenge(client, payment("pay_poll"))
    started = time.monotonic()
    waiting = asyncio.create_task(verdict(client, "pay_poll", wait=30))
    await asyncio.sleep(0.2)
    assert not waiting.done()  # it is really holding
    await answer(client, "cus_42", "no")
    assert await asyncio.wait_for(waiting, 30) == "blocked"
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 15, elapsed  # the verdict ended it, not the 30 s asked for


async def test_confirmed_payment_retried_passes_without_a_new_dialogue(
    service: tuple[Client, Settings],
) -> None:
    client, settings = service
    await challenge(client, payment("pay_first_try"))
    await answer(client, "cus_42", "yes")
    retry = await (await client.post("/v1/score", json=payment("pay_retry"))).json()
    assert retry["decision"] == "allow" and retry["dialogue"] is None
    assert [r["code"] for r in retry["reasons"]][-1:] == ["CONFIRMED_RETRY"]
    assert await verdict(client, "pay_retry") == "released"
    assert await (await client.get("/v1/customers/cus_42/prompts")).json() == []
    # another amount is another payment: the confirmation does not cover it
    other = payment("pay_other_amount", amount={"value": 43000, "currency": "EUR"})
    scored = await (await client.post("/v1/score", json=other)).json()
    assert "CONFIRMED_RETRY" not in [r["code"] for r in scored["reasons"]]
    await client.close()
    assert dialogue_events(settings.data_dir, "pay_retry") == []


async def test_long_poll_sees_a_verdict_reached_elsewhere(
    service: tuple[Client, Settings],
) -> None:
    """Another replica's verdict reaches the store but not this process's push hub."""
    client, _ = service
    await challenge(client, payment("pay_elsewhere"))
    store = client.app[STORE]
    started = time.monotonic()
    waiting = asyncio.create_task(verdict(client, "pay_elsewhere", wait=30))
    await asyncio.sleep(0.2)
    record = await store.get_payment("pay_elsewhere")
    assert record is not None
    decided = record.status.model_copy(update={"verdict": "released"})
    await store.commit(Change(payment=record.model_copy(update={"status": decided})))
    assert await asyncio.wait_for(waiting, 30) == "released"
    assert time.monotonic() - started < 15  # the store is re-read every second, not at 30 s
