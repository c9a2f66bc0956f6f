"""The outbox under faults, against the real Redis and the real Kafka-protocol broker.

1. The service process is SIGKILLed under load, several times, and restarted:
   every payment that was scored is stored once and its decision event reaches
   Kafka at least once (exactly once after de-duplication on ``event_id``).
   The first kill comes while the broker is unreachable, so it certainly lands
   *between store and publish* (checked: the outbox held committed events then).
2. The broker is stopped while scoring continues: scoring is unaffected, the
   outbox grows, and when the broker is back it drains to zero, nothing lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from redis.asyncio import Redis

from friction.api.keys import STORE
from friction.events.kafka_bus import REQUEST_TIMEOUT_S
from friction.offline.dataset import read_lines
from friction.ports import CLAIM_TTL_S
from friction.settings import Settings
from tests.conftest import Client
from tests.servers import ServerProcess, Service, free_port, tansu_process

pytestmark = [pytest.mark.redis, pytest.mark.kafka, pytest.mark.slow]


def payments(stream: Path, tag: str, n: int) -> list[dict[str, Any]]:
    """``n`` score bodies from the simulated stream, payment ids unique to this run."""
    lines = itertools.islice(read_lines(stream), n)
    return [
        {**line["payment"], "payment_id": tag + line["payment"]["payment_id"]} for line in lines
    ]


async def decision_ids(bootstrap: str, tag: str, expected: int, timeout_s: float = 30) -> list[str]:
    """This run's ``decisions`` event ids on the broker, duplicates included.

    Reads until ``expected`` distinct ids came and the topic is quiet, or until the
    timeout: then it returns what it has, so the caller's assertion names the gap.
    """
    consumer = AIOKafkaConsumer(
        "decisions", bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    ids: list[str] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            for message in itertools.chain.from_iterable(batch.values()):
                event_id = orjson.loads(message.value or b"{}").get("event_id", "")
                if event_id.startswith(f"decision:{tag}"):
                    ids.append(event_id)
            if not batch and len(set(ids)) >= expected:
                break
    finally:
        await consumer.stop()
    return ids


@pytest.fixture
async def redis_db(redis_server: ServerProcess) -> AsyncIterator[tuple[str, Redis]]:
    """A Redis database of its own (flushed), so the outbox holds only this test's events."""
    url = f"redis://127.0.0.1:{redis_server.port}/7"
    client = Redis.from_url(url)
    await client.flushdb()
    yield url, client
    await client.flushdb()
    await client.aclose()


async def score_all(
    session: aiohttp.ClientSession, url: str, bodies: list[dict[str, Any]], ok: set[str]
) -> None:
    """Post each body once (8 at a time); successes go into ``ok``, failures are left out."""
    queue = list(bodies)

    async def worker() -> None:
        while queue:
            body = queue.pop()
            try:
                async with session.post(f"{url}/v1/score", json=body) as response:
                    if response.status == 200:
                        ok.add(body["payment_id"])
            except (aiohttp.ClientError, TimeoutError):
                pass

    await asyncio.gather(*(worker() for _ in range(8)))


class Cuttable:
    """A TCP forwarder the test can cut and restore: the broker unreachable, its memory kept.

    Why not ``ServerProcess.stop()``: Tansu stores topics in memory, and right after a
    restart it *acknowledges* produce requests for the topics it forgot and drops them
    (measured; a fresh producer then gets UnknownError). A stop/start would test Tansu's
    loss, not the outbox. Cutting the network keeps the broker and tests what matters:
    the service cannot reach it, then it can.
    """

    def __init__(self, port: int, target: int) -> None:
        self.port, self._target = port, target
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._link, "127.0.0.1", self.port)

    async def cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._links):
            writer.close()
        if server is not None:
            await server.wait_closed()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        self._links |= {writer, up_writer}
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        self._links -= {writer, up_writer}


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@pytest.fixture
async def cuttable_broker(tmp_path: Path) -> AsyncIterator[Cuttable]:
    """A broker of its own that advertises a forwarder's port, so every byte goes through it."""
    proxy_port = free_port()
    server = tansu_process(tmp_path)
    advertised = server.argv.index("--advertised-listener-url") + 1
    server.argv[advertised] = f"tcp://127.0.0.1:{proxy_port}"
    server.start()
    link = Cuttable(proxy_port, server.port)
    await link.restore()
    yield link
    await link.cut()
    server.stop()


async def test_bus_outage_buffers_in_the_outbox_and_drains_without_loss(
    sim_stream: Path, redis_db: tuple[str, Redis], cuttable_broker: Cuttable,
    make_settings: Callable[..., Settings], start_app: Callable[[Settings], Awaitable[Client]],
) -> None:  # fmt: skip
    url, _ = redis_db
    bootstrap = f"127.0.0.1:{cuttable_broker.port}"
    tag = f"out{uuid.uuid4().hex[:6]}_"
    before, during = payments(sim_stream, tag, 240)[:120], payments(sim_stream, tag, 240)[120:]
    settings = make_settings(store=url, bus=f"kafka://{bootstrap}", kafka_idempotent=False)
    client = await start_app(settings)
    store = client.server.app[STORE]

    async def score(bodies: list[dict[str, Any]]) -> list[float]:
        latencies = []
        for body in bodies:
            started = time.perf_counter()
            assert (await client.post("/v1/score", json=body)).status == 200
            latencies.append(time.perf_counter() - started)
        return sorted(latencies)

    async def drained(timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while await store.pending(1):  # noqa: ASYNC110 - polling a remote store
                await asyncio.sleep(0.1)

    healthy = await score(before)
    await drained(20)
    assert len(set(await decision_ids(bootstrap, tag, len(before)))) == len(before)
    await cuttable_broker.cut()
    try:
        outage = await score(during)
        buffered = len(await store.pending(10_000))
    finally:
        await cuttable_broker.restore()
    await drained(60)
    got = await decision_ids(bootstrap, tag, len(before) + len(during))
    lost = {b["payment_id"] for b in before + during} - {i.removeprefix("decision:") for i in got}
    p50 = healthy[len(healthy) // 2], outage[len(outage) // 2]
    print(f"outbox at the end of the outage {buffered}; p50 healthy {p50[0] * 1e3:.1f} ms, "
          f"during outage {p50[1] * 1e3:.1f} ms, max {outage[-1] * 1e3:.1f} ms; "
          f"events {len(got)}, {len(set(got))} distinct, {len(lost)} missing")  # fmt: skip
    assert not lost, sorted(lost)[:5]
    assert len(set(got)) == len(before) + len(during)
    assert buffered >= len(during)  # every decision of the outage waited in the outbox
    # the broker being unreachable never holds a score request (it would until the restore)
    assert outage[-1] < 5.0


async def test_sigkilled_publisher_loses_no_event_and_duplicates_dedupe(
    sim_stream: Path, models_dir: Path, redis_db: tuple[str, Redis], cuttable_broker: Cuttable,
    tmp_path: Path,
) -> None:  # fmt: skip
    """Kill 1 comes while the broker is unreachable, so committed events are certainly in the
    outbox, unpublished, at the moment of death; kills 2 and 3 land wherever they land
    (mid-publish, they leave published-but-unacknowledged events: duplicates)."""
    kafka_bootstrap = f"127.0.0.1:{cuttable_broker.port}"
    url, redis = redis_db
    tag = f"kill{uuid.uuid4().hex[:6]}_"
    bodies = payments(sim_stream, tag, 600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRICTION_")}
    env |= {
        "FRICTION_DATA_DIR": str(tmp_path / "var"), "FRICTION_MODELS_DIR": str(models_dir),
        "FRICTION_STORE": url, "FRICTION_BUS": f"kafka://{kafka_bootstrap}",
        "FRICTION_KAFKA_IDEMPOTENT": "false", "FRICTION_HTTP_PORT": str(free_port()),
        "FRICTION_OCCURRED_AT_MAX_AGE_DAYS": "36500",  # the simulated stream is history
    }  # fmt: skip
    service, ok = Service(env, tmp_path / "service.log"), set[str]()
    pending_at_kill: list[int] = []
    rng = random.Random(7)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for chunk in range(4):  # three SIGKILLs under load, then a clean run
            await service.start(session)
            if chunk == 0:  # cut first: scoring is fast enough to finish before a late cut
                await cuttable_broker.cut()  # the relay cannot publish; commits go on
            load = asyncio.create_task(score_all(session, service.url, bodies, ok))
            if chunk < 3:
                await asyncio.sleep(rng.uniform(0.2, 0.5))
                if chunk == 0:
                    deadline = time.monotonic() + 10
                    while (  # noqa: ASYNC110 - until decisions are stored but unpublished
                        not await redis.xlen("friction:outbox") and time.monotonic() < deadline
                    ):
                        await asyncio.sleep(0.05)
                service.end(kill=True)
                pending_at_kill.append(int(await redis.xlen("friction:outbox")))
                if chunk == 0:
                    await cuttable_broker.restore()
            await load
        deadline = time.monotonic() + CLAIM_TTL_S + 10
        while len(ok) < len(bodies) and time.monotonic() < deadline:
            # The gateway retries (idempotent); a payment whose request died with a kill
            # stays claimed for CLAIM_TTL_S and answers 409 in_progress until then.
            missing = [b for b in bodies if b["payment_id"] not in ok]
            await score_all(session, service.url, missing, ok)
            await asyncio.sleep(0 if len(ok) == len(bodies) else 1)
        # a produce answer lost after a kill stalls the relay for the request time-out, then
        # the batch goes again: wait longer than that (once it failed here with 30 s)
        deadline = time.monotonic() + REQUEST_TIMEOUT_S + 30
        while await redis.xlen("friction:outbox") and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        service.end(kill=False)
    stored = [key async for key in redis.scan_iter(match=f"friction:pay:{tag}*", count=1000)]
    ids = await decision_ids(kafka_bootstrap, tag, len(bodies))
    print(f"scored {len(ok)}, stored {len(stored)}, events {len(ids)} "
          f"({len(set(ids))} distinct), outbox at each kill {pending_at_kill}")  # fmt: skip
    assert len(ok) == len(stored) == len(set(ids)) == len(bodies)
    assert {i.removeprefix("decision:") for i in ids} == ok  # 0 missing, 0 unknown
    assert pending_at_kill[0] > 0, "the first kill did not land between store and publish"
    assert await redis.xlen("friction:outbox") == 0
