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

from friction.keys import STORE
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
