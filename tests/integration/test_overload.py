"""Overload (issue 8, item 7): past the in-flight bound, fast 429s instead of time-outs.

The client is open-loop (it sends on a schedule, never waiting for answers, as
gateways do) at twice the rate this process sustains (measured: at 4x the Python HTTP layer alone,
parsing requests to answer 429, saturates the 2 shared cores; shedding beyond that
belongs in front of the process, see docs/security.md), measured first in
the same test. Accepted requests must keep their latency: beyond what every request
in the same window waits (the 429s included: the event loops of the service and of the
generator lag when the 2 cores are saturated, and no in-process bound can help that), at
most the wait the in-flight bound implies (``MAX_INFLIGHT`` requests ahead, served at the
measured rate), not a backlog that grows with the overload (1.5 s at 2x would queue
~0.75 s of work); the excess must get 429 + ``Retry-After`` + a JSON body well within a
second, and the ledger must hold for the accepted ones.
"""

from __future__ import annotations

import asyncio
import copy
import math
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from friction.storage.embedded import EmbeddedStore
from tests.conftest import CANONICAL
from tests.ledger import check_ledger, file_decision_ids
from tests.servers import service_env, serving

pytestmark = pytest.mark.timeout(150)
MAX_INFLIGHT = 64
Result = tuple[int, float, str, str, bytes]  # status, seconds, payment id, Retry-After, body


def p99(values: list[float]) -> float:
    """The 99th percentile; infinite when nothing was seen (no 429 at all fails the test)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else math.inf


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
    env = service_env(
        tmp_path / "var", models_dir, max_inflight=str(MAX_INFLIGHT), challenge_at="1.0",
        decline_at="1.0", challenge_loss_minor="0", explore_share="0", default_channels="in_app",
    )  # fmt: skip
    async with serving(env, tmp_path / "service.log") as process:
        yield process.url, tmp_path / "var"


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


@dataclass
class Attempt:
    """One measurement: an unloaded baseline, then open-loop overload at 2x capacity."""

    sustainable: float
    baseline: list[Result]
    overload: list[Result]

    @property
    def accepted(self) -> list[Result]:
        return [r for r in self.overload if r[0] == 200]

    @property
    def shed(self) -> list[Result]:
        return [r for r in self.overload if r[0] == 429]

    def figures(self) -> tuple[float, float, float]:
        """p99 seconds of the baseline, the accepted and the shed requests."""
        groups = (self.baseline, self.accepted, self.shed)
        return (
            p99([r[1] for r in groups[0]]),
            p99([r[1] for r in groups[1]]),
            p99([r[1] for r in groups[2]]),
        )

    def latency_held(self) -> bool:
        """429s within a second; accepted p99 within the 429s' p99 (the lag common to the
        whole window) plus a multiple of the wait a full in-flight bound implies (4x:
        shedding takes CPU from serving and p99 is not the mean). Measured over ten runs,
        two in CI: accepted minus 429 p99 was 27-84 ms for a bound wait of 43-56 ms, while
        the common lag ranged from 160 to 380 ms with the machine's load, which is why the
        unloaded p99 is no reference."""
        _, ok_p99, shed_p99 = self.figures()
        bound_wait = MAX_INFLIGHT / self.sustainable
        return shed_p99 < 1.0 and ok_p99 < shed_p99 + 4 * bound_wait


async def measure(session: aiohttp.ClientSession, url: str) -> Attempt:
    # 8 waiting workers: 4 measured ~0.75x of capacity (the "2x" overload then shed only
    # 24-35 %); 16 pushed the generator itself to its limit on the 2 shared cores
    sustainable = await closed_loop(session, url, 8, 1.0)
    baseline = await open_loop(session, url, sustainable * 0.25, 1.5)
    overload = await open_loop(session, url, sustainable * 2, 1.5)
    return Attempt(sustainable, baseline, overload)


async def test_excess_gets_fast_429_and_accepted_requests_keep_their_latency(
    service: tuple[str, Path],
) -> None:
    """Latency is measured up to three times: other work on the shared cores can starve
    the generator and the service for seconds; a real regression (queueing instead of
    shedding) fails every attempt. Status codes and the ledger are checked on all."""
    base, data_dir = service
    url = base + "/v1/score"
    connector = aiohttp.TCPConnector(limit=0)  # no client-side queue: the server must shed
    attempts: list[Attempt] = []
    async with aiohttp.ClientSession(connector=connector) as session:
        warm = await open_loop(session, url, 50, 0.4)  # warm-up: JIT, connections
        while len(attempts) < 3 and not (attempts and attempts[-1].latency_held()):
            attempts.append(await measure(session, url))
        async with session.get(base + "/healthz") as health:
            assert health.status == 200  # ops endpoints are never shed
    for attempt in attempts:
        base_p99, ok_p99, shed_p99 = attempt.figures()
        print(
            f"sustainable≈{attempt.sustainable:.0f}/s; overload {len(attempt.overload)} sent "
            f"at 2×: {len(attempt.accepted)} accepted, {len(attempt.shed)} shed; p99 baseline "
            f"{base_p99 * 1000:.1f} ms, accepted {ok_p99 * 1000:.1f} ms "
            f"(bound wait {MAX_INFLIGHT / attempt.sustainable * 1000:.0f} ms), "
            f"429 {shed_p99 * 1000:.1f} ms"
        )
        # a disk stall (a WAL checkpoint) can briefly fill the in-flight bound even at a
        # quarter of capacity; shedding then is the design working, but it must stay rare
        unloaded_shed = sum(r[0] == 429 for r in attempt.baseline)
        assert all(r[0] in (200, 429) for r in attempt.baseline)
        assert unloaded_shed <= len(attempt.baseline) * 0.02, f"{unloaded_shed} shed"
        assert len(attempt.accepted) + len(attempt.shed) == len(attempt.overload)
        assert all(r[3] == "1" and b'"error":"overloaded"' in r[4] for r in attempt.shed)
    final = attempts[-1]
    assert final.latency_held()
    # judged on the undisturbed attempt only: a starved generator sends in bursts, not at 2x
    assert len(final.shed) > len(final.overload) * 0.3

    store = EmbeddedStore(data_dir / "friction.db")  # read-only look: same file, WAL
    try:
        await asyncio.sleep(1.0)  # the relay publishes within ~10 ms of a commit
        answered = warm + [r for a in attempts for r in a.baseline + a.accepted]
        ok = {r[2]: r[4] for r in answered if r[0] == 200}
        events = file_decision_ids(data_dir, "ovl_")
        report = await check_ledger(ok, store, events)
    finally:
        await store.close()
    assert report.duplicates == 0
