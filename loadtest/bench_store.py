"""Redis path of ``POST /v1/score``: round trips per request and latency vs the embedded store.

    .venv/bin/python loadtest/bench_store.py [--payments 400] [--models models]

Starts a real redis-server on loopback (the test suite's helper), then runs the
real service in this process twice, on the embedded store and on Redis, with the
same simulated payments. Round trips are counted by the server itself (MONITOR,
in a separate pass so its cost does not touch the latency figures): every
command a client sent, by name; commands run *inside* a Lua script are not
round trips and are left out. The feature read is the 4-key EVALSHA (observe);
the rest of a scoring request (payment lookup, marks, preferences, commit) is
counted too and reported separately. Latencies are per HTTP request over
loopback, plus ``store.observe`` alone; compare the ratios, since the machine is
shared and absolute microseconds move between runs. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.servers starts the redis-server the suite uses

from friction.api.keys import STORE  # noqa: E402
from friction.app import build_app  # noqa: E402
from friction.domain.facts import facts_of  # noqa: E402
from friction.domain.payment import Payment  # noqa: E402
from friction.offline.dataset import read_lines  # noqa: E402
from friction.offline.train import TrainOptions, train  # noqa: E402
from friction.scoring.registry import champion_version  # noqa: E402
from friction.settings import Settings  # noqa: E402
from friction.simulation import SimConfig, write_stream  # noqa: E402
from friction.storage.redis_scripts import (  # noqa: E402
    COMMIT_LUA,
    OBSERVE_LUA,
    PENDING_LUA,
    QUOTAS_LUA,
)
from tests.servers import redis_process  # noqa: E402

SCRIPTS = {
    hashlib.sha1(script.encode()).hexdigest(): name
    for script, name in [(OBSERVE_LUA, "observe"), (COMMIT_LUA, "commit"),
                         (PENDING_LUA, "outbox read"), (QUOTAS_LUA, "sms quotas")]
}  # fmt: skip
"""EVALSHA names the script by its SHA-1 (what redis-py sends)."""
BACKGROUND = {"EVALSHA outbox read", "XRANGE", "XDEL", "HELLO", "CLIENT", "SCRIPT"}
"""The outbox relay's reads/acks and connection set-up: Redis work, but off the request path."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=400, help="payments per store (400)")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured payments first (50)")
    parser.add_argument("--models", type=Path, default=ROOT / "models", help="model registry")
    return parser.parse_args()


def bodies(n: int, work: Path, models: Path) -> tuple[list[dict[str, Any]], Path]:
    """``n`` POST /v1/score bodies from a seeded simulation, and a registry with a champion."""
    path = work / "stream.jsonl"
    write_stream(SimConfig(seed=3, days=7, customers=300), path, progress=False)
    if champion_version(models) is None:  # no bundled model: a small one, trained here
        models = work / "models"
        train(TrainOptions(data=path, models_dir=models, rounds=40, promote="always"))
    return [line["payment"] for _, line in zip(range(n), read_lines(path), strict=False)], models


async def score(client: TestClient[Any, Any], payments: list[dict[str, Any]]) -> list[float]:
    """Sequential requests (no queueing in the figures); per-request seconds."""
    out = []
    for body in payments:
        started = time.perf_counter()
        async with client.post("/v1/score", json=body) as response:
            await response.read()
            assert response.status == 200, await response.text()
        out.append(time.perf_counter() - started)
    return out


async def observe_alone(
    client: TestClient[Any, Any], payments: list[dict[str, Any]]
) -> list[float]:
    """``store.observe`` alone, on fresh customer ids so it does the same work as scoring."""
    store, out = client.server.app[STORE], []
    for body in payments:
        facts = facts_of(Payment.model_validate({**body, "customer": {**body["customer"],
                         "id": "bench-" + body["customer"]["id"]}}))  # fmt: skip
        started = time.perf_counter()
        await store.observe(facts, 7 * 86400.0, "bench-" + body["payment_id"])
        out.append(time.perf_counter() - started)
    return out


async def count_round_trips(
    url: str, client: TestClient[Any, Any], payments: list[dict[str, Any]]
) -> collections.Counter[str]:
    """Client commands the server saw while ``payments`` were scored, by name."""
    counts: collections.Counter[str] = collections.Counter()
    monitor_client = Redis.from_url(url)
    async with monitor_client.monitor() as monitor:
        done = asyncio.Event()

        async def listen() -> None:
            async for info in monitor.listen():
                if info["client_type"] != "lua":
                    words = info["command"].split()
                    name = words[0].upper()
                    if name == "EVALSHA":
                        name += " " + SCRIPTS.get(words[1].strip('"'), "other")
                    counts[name] += 1
                if done.is_set() and info["command"].startswith("ECHO bench-end"):
                    return

        task = asyncio.create_task(listen())
        await asyncio.sleep(0.2)
        await score(client, payments)
        done.set()
        await monitor_client.echo("bench-end")
        await asyncio.wait_for(task, 10)
    await monitor_client.aclose()
    counts.pop("ECHO", None)
    return counts


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p50, p99 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)]
    return {"p50_ms": p50 * 1e3, "p99_ms": p99 * 1e3, "mean_ms": statistics.fmean(ordered) * 1e3}


async def run_store(settings: Settings, payments: list[dict[str, Any]], warmup: int,
                    url: str | None) -> dict[str, Any]:  # fmt: skip
    """Latency figures (and round trips, for Redis) of one store."""
    async with TestClient(TestServer(build_app(settings), host="127.0.0.1")) as client:
        await score(client, payments[:warmup])
        result: dict[str, Any] = {}
        if url is not None:
            counted = payments[warmup : warmup + 100]
            counts = await count_round_trips(url, client, counted)
            result["round_trips"] = {k: v / len(counted) for k, v in sorted(counts.items())}
        measured = payments[warmup + 100 :]
        result["score"] = quantiles(await score(client, measured))
        result["observe"] = quantiles(await observe_alone(client, measured))
        result["requests"] = len(measured)
    return result


async def main() -> dict[str, Any]:
    args = parse_args()
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        payments, models = bodies(args.payments + args.warmup + 100, work, args.models)
        server = redis_process(work)
        server.start()
        try:
            url = f"redis://127.0.0.1:{server.port}/0"
            common = {"models_dir": models, "bus": "file", "default_channels": ["in_app"],
                      "occurred_at_max_age_days": 36_500}  # replays simulated history  # fmt: skip
            embedded = await run_store(
                Settings(data_dir=work / "e", **common), payments, args.warmup, None
            )
            redis = await run_store(
                Settings(data_dir=work / "r", store=url, **common), payments, args.warmup, url
            )
        finally:
            server.stop()
    trips = redis.pop("round_trips")
    return {
        "requests": redis["requests"],
        "round_trips_per_score": {
            "features": trips.get("EVALSHA observe", 0.0),
            "request_path": sum(v for k, v in trips.items() if k not in BACKGROUND),
            "background": sum(v for k, v in trips.items() if k in BACKGROUND),
            "total": sum(trips.values()), "by_command": trips},
        "embedded": embedded, "redis": redis,
        "ratio_score_p50": redis["score"]["p50_ms"] / embedded["score"]["p50_ms"],
        "ratio_observe_p50": redis["observe"]["p50_ms"] / embedded["observe"]["p50_ms"],
        "added_score_p50_ms": redis["score"]["p50_ms"] - embedded["score"]["p50_ms"],
    }  # fmt: skip


def report(result: dict[str, Any]) -> None:
    console = Console(width=110)
    trips = Table(title="Redis round trips per POST /v1/score")
    trips.add_column("command")
    trips.add_column("per request", justify="right")
    for name, per in result["round_trips_per_score"]["by_command"].items():
        trips.add_row(name + (" (features)" if name == "EVALSHA observe" else ""), f"{per:.2f}")
    for part in ("request_path", "background", "total"):
        trips.add_row(part.replace("_", " "), f"{result['round_trips_per_score'][part]:.2f}")
    console.print(trips)
    latency = Table(title=f"latency, {result['requests']} sequential requests per store")
    for column in ("what", "embedded p50", "redis p50", "embedded p99", "redis p99", "ratio p50"):
        latency.add_column(column, justify="right")
    for what in ("score", "observe"):
        e, r = result["embedded"][what], result["redis"][what]
        latency.add_row("POST /v1/score" if what == "score" else "store.observe",
                        f"{e['p50_ms']:.2f} ms", f"{r['p50_ms']:.2f} ms", f"{e['p99_ms']:.2f} ms",
                        f"{r['p99_ms']:.2f} ms", f"{r['p50_ms'] / e['p50_ms']:.1f}x")  # fmt: skip
    console.print(latency)
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    report(asyncio.run(main()))
