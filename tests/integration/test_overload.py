"""Overload (issue 8, item 7): past the in-flight bound, fast 429s instead of time-outs.

The client is open-loop (it sends on a schedule, never waiting for answers, as
gateways do) at twice the rate this process sustains (measured: at 4x the Python HTTP layer alone,
parsing requests to answer 429, saturates the 2 shared cores; shedding beyond that
belongs in front of the process, see docs/security.md), measured first in
the same test. Accepted requests must keep their latency (p99 compared with an
unloaded baseline, as a ratio), the excess must get 429 + ``Retry-After`` + a JSON
body at once, and the ledger must hold for the accepted ones.
"""

from __future__ import annotations

import asyncio
import copy
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from friction.storage.embedded import EmbeddedStore
from tests.conftest import CANONICAL
from tests.integration.test_outbox_faults import Service
from tests.ledger import check_ledger, file_decision_ids
from tests.servers import free_port

pytestmark = pytest.mark.timeout(90)
Result = tuple[int, float, str, str, bytes]  # status, seconds, payment id, Retry-After, body


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def open_loop(
    session: aiohttp.ClientSession, url: str, rate: float, seconds: float
) -> list[Result]:
    """Send ``rate`` requests a second for ``seconds`` on a fixed schedule (10 ms ticks)."""
    prefix = uuid.uuid4().hex[:8]

    async def one(i: int) -> Result:
        body: dict[str, Any] = copy.deepcopy(CANONICAL)
        body["payment_id"] = f"ovl_{prefix}_{i}"
        body["customer"]["id"] = f"cus_{i % 50}"
        started = time.perf_counter()
        async with session.post(url, json=body) as response:
            text = await response.read()
            retry = response.headers.get("Retry-After", "")
        return response.status, time.perf_counter() - started, body["payment_id"], retry, text

    tasks: list[asyncio.Task[Result]] = []
    start, sent, total = time.perf_counter(), 0, int(rate * seconds)
    while sent < total:
        due = min(total, int((time.perf_counter() - start) * rate) + 1)
        tasks += [asyncio.create_task(one(i)) for i in range(sent, due)]
        sent = due
        await asyncio.sleep(0.01)
    return list(await asyncio.gather(*tasks))


@pytest.fixture
async def service(tmp_path: Path, models_dir: Path) -> AsyncIterator[tuple[str, Path]]:
    """The service in a process of its own (the load generator must not share its loop)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRICTION_")}
    env |= {
        "FRICTION_DATA_DIR": str(tmp_path / "var"), "FRICTION_MODELS_DIR": str(models_dir),
        "FRICTION_HTTP_PORT": str(free_port()), "FRICTION_MAX_INFLIGHT": "64",
        "FRICTION_CHALLENGE_AT": "1.0", "FRICTION_DECLINE_AT": "1.0",
        "FRICTION_CHALLENGE_LOSS_MINOR": "0", "FRICTION_EXPLORE_SHARE": "0",
        "FRICTION_DEFAULT_CHANNELS": "in_app",
    }  # fmt: skip
    process = Service(env, tmp_path / "service.log")
    async with aiohttp.ClientSession() as session:
        await process.start(session)
    try:
        yield process.url, tmp_path / "var"
    finally:
        process.end(kill=False)


async def closed_loop(
    session: aiohttp.ClientSession, url: str, workers: int, seconds: float
) -> float:
    """Requests a second the service sustains with ``workers`` always waiting on it."""
    done, deadline, prefix = 0, time.perf_counter() + seconds, uuid.uuid4().hex[:8]

    async def worker(w: int) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            body: dict[str, Any] = copy.deepcopy(CANONICAL)
            body["payment_id"] = f"cap_{prefix}_{w}_{done}"
            async with session.post(url, json=body) as response:
                assert response.status == 200
            done += 1

    await asyncio.gather(*(worker(w) for w in range(workers)))
    return done / seconds


async def test_excess_gets_fast_429_and_accepted_requests_keep_their_latency(
    service: tuple[str, Path],
) -> None:
    base, data_dir = service
    url = base + "/v1/score"
    connector = aiohttp.TCPConnector(limit=0)  # no client-side queue: the server must shed
    async with aiohttp.ClientSession(connector=connector) as session:
        warm = await open_loop(session, url, 50, 0.4)  # warm-up: JIT, connections
        sustainable = await closed_loop(session, url, 4, 1.0)
        baseline = await open_loop(session, url, sustainable * 0.25, 1.5)
        overload = await open_loop(session, url, sustainable * 2, 1.5)
        async with session.get(base + "/healthz") as health:
            assert health.status == 200  # ops endpoints are never shed
    print(f"baseline: {len(baseline)} sent, {sum(r[0] != 200 for r in baseline)} not 200")
    # a disk stall (a WAL checkpoint) can briefly fill the in-flight bound even at a quarter
    # of capacity; shedding then is the design working, but it must stay rare
    unloaded_shed = sum(r[0] == 429 for r in baseline)
    assert all(r[0] in (200, 429) for r in baseline)
    assert unloaded_shed <= len(baseline) * 0.02, f"{unloaded_shed} of {len(baseline)} shed"
    accepted = [r for r in overload if r[0] == 200]
    shed = [r for r in overload if r[0] == 429]
    assert len(accepted) + len(shed) == len(overload), {r[0] for r in overload}
    base_p99, ok_p99, shed_p99 = (p99([r[1] for r in rs]) for rs in (baseline, accepted, shed))
    print(
        f"sustainable≈{sustainable:.0f}/s; overload {len(overload)} sent at 2×: "
        f"{len(accepted)} accepted, {len(shed)} shed; p99 baseline {base_p99 * 1000:.1f} ms, "
        f"accepted {ok_p99 * 1000:.1f} ms (×{ok_p99 / base_p99:.1f}), 429 {shed_p99 * 1000:.1f} ms"
    )
    assert len(shed) > len(overload) * 0.3
    assert all(r[3] == "1" and b'"error":"overloaded"' in r[4] for r in shed)
    # Generous bounds: the load generator shares 2 cores with the service, so these
    # catch time-outs (seconds), not milliseconds; the printed figures are the evidence.
    assert shed_p99 < 1.0
    assert ok_p99 / base_p99 < 15

    store = EmbeddedStore(data_dir / "friction.db")  # read-only look: same file, WAL
    try:
        await asyncio.sleep(1.0)  # the relay publishes within ~10 ms of a commit
        ok = {r[2]: r[4] for r in warm + baseline + accepted if r[0] == 200}
        events = file_decision_ids(data_dir, "ovl_")
        report = await check_ledger(ok, store, events)
    finally:
        await store.close()
    assert report.duplicates == 0
