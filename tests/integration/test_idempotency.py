"""Idempotency under concurrency (issue 8, item 2), on both store/bus pairs.

The same ``payment_id`` posted 50 times at once must give one decision, one
event and 50 byte-identical answers; the same id with another body is a 409
and adds no event. The ledger check closes each scenario.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from friction.api.keys import STORE
from friction.ports import CLAIM_TTL_S
from friction.settings import Settings
from tests.conftest import CANONICAL
from tests.dialogues import StartApp
from tests.ledger import check_ledger, drained, file_decision_ids, kafka_decision_ids

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["embedded+file", pytest.param("redis+kafka", marks=pytest.mark.kafka)])
def backend(request: pytest.FixtureRequest, make_settings: Callable[..., Settings]) -> Settings:
    """Settings for one store/bus pair (Redis and Tansu are real processes on loopback)."""
    if request.param == "embedded+file":
        return make_settings()
    redis_url = request.getfixturevalue("redis_url")
    bootstrap = request.getfixturevalue("kafka_bootstrap")
    return make_settings(store=redis_url, bus=f"kafka://{bootstrap}", kafka_idempotent=False)


async def event_ids(settings: Settings, prefix: str) -> list[str]:
    if settings.bus == "file":
        return file_decision_ids(settings.data_dir, prefix)
    return await kafka_decision_ids(settings.bus.removeprefix("kafka://"), prefix)


async def test_fifty_concurrent_retries_make_one_decision_and_one_event(
    backend: Settings, start_app: StartApp
) -> None:
    client = await start_app(backend)
    body: dict[str, Any] = copy.deepcopy(CANONICAL)
    prefix = f"idem_{uuid.uuid4().hex[:8]}"
    body["payment_id"] = f"{prefix}_1"

    async def post() -> tuple[int, bytes]:
        response = await client.post("/v1/score", json=body)
        return response.status, await response.read()

    answers = await asyncio.gather(*(post() for _ in range(50)))
    assert {status for status, _ in answers} == {200}
    assert len({text for _, text in answers}) == 1  # byte-identical

    changed = copy.deepcopy(body)
    changed["amount"]["value"] += 1
    conflict = await client.post("/v1/score", json=changed)
    assert conflict.status == 409
    assert (await conflict.json())["error"] == "conflict"

    store = client.server.app[STORE]
    await drained(store)
    report = await check_ledger(
        {body["payment_id"]: answers[0][1]}, store, await event_ids(backend, prefix)
    )
    assert (report.stored, report.distinct_events, report.duplicates) == (1, 1, 0)


@pytest.mark.kafka
async def test_twins_on_two_replicas_make_one_decision(
    make_settings: Callable[..., Settings],
    redis_url: str,
    kafka_bootstrap: str,
    start_app: StartApp,
) -> None:
    """Two replicas on one Redis: the claim in the observe script lets one request decide."""
    settings = make_settings(
        store=redis_url, bus=f"kafka://{kafka_bootstrap}", kafka_idempotent=False
    )
    replicas = [await start_app(settings), await start_app(settings)]
    prefix = f"twin_{uuid.uuid4().hex[:8]}"
    bodies = []
    for i in range(5):
        body: dict[str, Any] = copy.deepcopy(CANONICAL)
        body["payment_id"] = f"{prefix}_{i}"
        bodies.append(body)

    async def post(replica: int, body: dict[str, Any]) -> tuple[str, int, bytes]:
        response = await replicas[replica].post("/v1/score", json=body)
        return body["payment_id"], response.status, await response.read()

    answers = await asyncio.gather(*(post(i % 2, b) for b in bodies for i in range(20)))
    assert {status for _, status, _ in answers} == {200}
    by_payment: dict[str, set[bytes]] = {}
    for payment_id, _, text in answers:
        by_payment.setdefault(payment_id, set()).add(text)
    assert all(len(texts) == 1 for texts in by_payment.values())  # byte-identical everywhere

    store = replicas[0].server.app[STORE]
    await drained(store)
    responses = {payment_id: texts.pop() for payment_id, texts in by_payment.items()}
    report = await check_ledger(responses, store, await event_ids(settings, prefix))
    # One decision each; two outbox relays may both publish an event (at least once, and
    # consumers de-duplicate on event_id), so only distinct events are counted here.
    assert (report.stored, report.distinct_events) == (5, 5)


@pytest.mark.redis
async def test_a_claimed_payment_answers_409_in_progress_with_retry_after(
    make_settings: Callable[..., Settings], redis_url: str, start_app: StartApp
) -> None:
    """A claim whose request never stores a decision (it died): retry later, not a 5xx."""
    client = await start_app(make_settings(store=redis_url, twin_wait_seconds=0.05))
    body: dict[str, Any] = copy.deepcopy(CANONICAL)
    body["payment_id"] = f"claimed_{uuid.uuid4().hex[:8]}"
    raw = Redis.from_url(redis_url)
    try:
        await raw.set(f"friction:claim:{body['payment_id']}", "1", ex=CLAIM_TTL_S)
        busy = await client.post("/v1/score", json=body)
        assert busy.status == 409 and busy.headers["Retry-After"] == "1"
        assert (await busy.json())["error"] == "in_progress"
        await raw.delete(f"friction:claim:{body['payment_id']}")  # as its TTL would
        assert (await client.post("/v1/score", json=body)).status == 200
    finally:
        await raw.aclose()
