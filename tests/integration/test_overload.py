"""Overload: past the in-flight bound, fast 429s instead of a growing queue.

Behaviour only; the latency this buys is measured by the bench (``loadtest/faults.py
--only overload``), where a shared machine's stalls cannot fail a build. Here 4 x
``MAX_INFLIGHT`` clients send back to back for a few seconds against a service in its
own process: far more requests than the bound are always waiting, whatever the
machine's speed. What must hold on any machine:

* every request is answered 200 or 429, none times out or fails;
* every 429 carries ``Retry-After`` and the JSON error body;
* the process never works on more than ``MAX_INFLIGHT`` requests at once (its own
  high-water mark, ``friction_inflight_requests_peak``): the excess is shed, not queued;
* ops endpoints answer throughout;
* the ledger holds for every accepted request.
"""

from __future__ import annotations

import asyncio
import copy
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from friction.storage.embedded import EmbeddedStore
from tests.conftest import CANONICAL
from tests.ledger import check_ledger, drained, file_decision_ids
from tests.servers import service_env, serving

pytestmark = pytest.mark.timeout(150)
MAX_INFLIGHT = 64
CLIENTS = 4 * MAX_INFLIGHT
SECONDS = 3.0
Result = tuple[int, str, str, bytes]  # status, payment id, Retry-After, body


@pytest.fixture
async def service(tmp_path: Path, models_dir: Path) -> AsyncIterator[tuple[str, Path]]:
    """The service in a process of its own (the load generator must not share its loop)."""
    env = service_env(
        tmp_path / "var", models_dir, max_inflight=str(MAX_INFLIGHT), challenge_at="1.0",
        decline_at="1.0", challenge_loss_minor="0", explore_share="0", default_channels="in_app",
    )  # fmt: skip
    async with serving(env, tmp_path / "service.log") as process:
        yield process.url, tmp_path / "var"


async def closed_loop(
    session: aiohttp.ClientSession, url: str, clients: int, seconds: float
) -> list[Result]:
    """``clients`` senders, each sending its next payment as soon as the last is answered."""
    deadline, prefix = time.monotonic() + seconds, uuid.uuid4().hex[:8]
    results: list[Result] = []

    async def client(c: int) -> None:
        n = 0
        while time.monotonic() < deadline:
            body: dict[str, Any] = copy.deepcopy(CANONICAL)
            body["payment_id"] = f"ovl_{prefix}_{c}_{n}"
            body["customer"]["id"] = f"cus_{c % 50}"
            async with session.post(url, json=body) as response:
                text = await response.read()
                retry = response.headers.get("Retry-After", "")
            results.append((response.status, body["payment_id"], retry, text))
            n += 1

    await asyncio.gather(*(client(c) for c in range(clients)))
    return results


async def gauge(session: aiohttp.ClientSession, base: str, name: str) -> float:
    async with session.get(base + "/metrics") as response:
        text = await response.text()
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found is not None, f"{name} missing from /metrics"
    return float(found.group(1))


async def test_excess_is_shed_with_429_and_the_bound_is_never_passed(
    service: tuple[str, Path],
) -> None:
    base, data_dir = service
    url = base + "/v1/score"
    connector = aiohttp.TCPConnector(limit=0)  # no client-side queue: the server must shed
    timeout = aiohttp.ClientTimeout(total=60)  # a hang fails; a slow shared machine does not
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        warm = await closed_loop(session, url, 4, 0.5)  # JIT, connections
        health = asyncio.create_task(session.get(base + "/healthz"))
        results = await closed_loop(session, url, CLIENTS, SECONDS)
        assert (await health).status == 200  # ops endpoints are never shed
        peak = await gauge(session, base, "friction_inflight_requests_peak")
        now = await gauge(session, base, "friction_inflight_requests")

    ok = [r for r in results if r[0] == 200]
    shed = [r for r in results if r[0] == 429]
    print(f"{len(results)} sent by {CLIENTS} clients: {len(ok)} accepted, {len(shed)} shed; "
          f"in-flight peak {peak:.0f} of {MAX_INFLIGHT}")  # fmt: skip
    assert len(ok) + len(shed) == len(results), {r[0] for r in results}
    assert shed, "4x the bound always waiting, and nothing shed"
    assert ok, "nothing accepted under overload"
    assert all(r[2] == "1" and b'"error":"overloaded"' in r[3] for r in shed)
    assert peak <= MAX_INFLIGHT, "more requests in progress than the bound allows"
    assert now == 0

    store = EmbeddedStore(data_dir / "friction.db")  # read-only look: same file, WAL
    try:
        await drained(store, within_s=30)  # the relay publishes what was committed
        accepted = {r[1]: r[3] for r in warm + ok if r[0] == 200}
        report = await check_ledger(accepted, store, file_decision_ids(data_dir, "ovl_"))
    finally:
        await store.close()
    assert report.duplicates == 0
