"""Erasure and retention through the API, on the real Redis (issue 8, item 14).

``DELETE /v1/customers/{id}`` scrubs the customer's data, answers with the
pseudonym, writes an ``erasure`` audit event; and every key the service wrote
carries a TTL (a SCAN over the whole database).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from friction.api.keys import STORE
from friction.domain.events import ErasureEvent
from friction.events.file_bus import read_events
from friction.settings import Settings
from tests.dialogues import StartApp, challenge, payment
from tests.ledger import drained
from tests.servers import ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]


@pytest.fixture
async def redis_db(redis_server: ServerProcess) -> AsyncIterator[tuple[str, Redis]]:
    url = f"redis://127.0.0.1:{redis_server.port}/4"
    client = Redis.from_url(url)
    await client.flushdb()
    yield url, client
    await client.flushdb()
    await client.aclose()


async def test_delete_customer_erases_and_every_key_has_a_ttl(
    redis_db: tuple[str, Redis], make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    url, redis = redis_db
    settings = make_settings(
        store=url, challenge_at=0.0, default_channels=["console"], dev_endpoints=True
    )
    client = await start_app(settings)
    await challenge(client, payment("pay_er_1"))
    await client.put("/v1/customers/cus_42/preferences", json={"channels": ["console"]})
    await client.post(
        "/v1/payments/pay_er_1/labels", json={"label": "fraud", "source": "chargeback"}
    )
    await client.post("/v1/dev/sms", json={"phone": "+447700900123", "body": "STOP"})

    response = await client.delete("/v1/customers/cus_42")
    assert response.status == 200, await response.text()
    erased = await response.json()
    assert erased["customer"].startswith("anon_") and erased["payments"] == 1
    assert await (await client.get("/v1/customers/cus_42/prompts")).json() == []
    status = await client.get("/v1/payments/pay_er_1")  # the decision stays, pseudonymised
    assert status.status == 200

    store = client.server.app[STORE]
    await drained(store)
    [event] = [
        e for e in read_events(settings.event_log_dir, "audit") if isinstance(e, ErasureEvent)
    ]
    assert event.customer_id == erased["customer"]
    everything = b""
    keys = [key async for key in redis.scan_iter(match="*", count=1000)]
    for key in keys:
        ttl = await redis.ttl(key)
        assert ttl > 0, f"{key!r} has no TTL ({ttl})"
        if await redis.type(key) == b"string":
            everything += await redis.get(key) or b""
    assert len(keys) >= 8
    assert b"cus_42" not in everything and b"+447700900123" not in everything

    bad = await client.delete("/v1/customers/cus*")
    assert bad.status == 422  # no wildcard reaches a SCAN pattern
