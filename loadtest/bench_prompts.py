"""What customers' apps polling their prompts cost the gateways' scoring (issue 14, item 7).

One ``friction serve`` (embedded store, open development mode: the route's cost is what
is measured, not the session check) with ``--open`` dialogues waiting (one per customer,
each a challenged payment), then scoring alone, then scoring while ``--pollers`` clients
read ``GET /v1/customers/{id}/prompts`` of random customers back to back. The scoring
p50 of both phases comes from the same run, so their ratio is what the prompts route
costs the gateways. Before the per-customer index the route scanned every open dialogue
(issue 14: p50 1 ms → 115 ms with 8,000 open); now it reads the customer's own.

    .venv/bin/python loadtest/bench_prompts.py            # ~1 min
    .venv/bin/python loadtest/bench_prompts.py --open 8000 --pollers 100 --json
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from services import ROOT, friction, resolve_models

sys.path.insert(0, str(ROOT))
from tests.conftest import CANONICAL
from tests.servers import free_port


def payment(n: int, run: str) -> dict[str, object]:
    body = copy.deepcopy(CANONICAL)
    body["payment_id"] = f"pay_{run}_{n}"
    body["customer"] = {"id": f"cus_{n}", "phone": "+447700900123", "locale": "en-GB"}
    return body


async def score_many(
    session: aiohttp.ClientSession, url: str, numbers: range, run: str
) -> list[float]:
    """Score payments one after another; each one's seconds."""
    seconds = []
    for n in numbers:
        started = time.perf_counter()
        async with session.post(url + "/v1/score", json=payment(n, run)) as response:
            await response.read()
            assert response.status == 200, response.status
        seconds.append(time.perf_counter() - started)
    return seconds


async def open_dialogues(session: aiohttp.ClientSession, url: str, count: int) -> None:
    """``count`` challenged payments of ``count`` customers, 32 at a time."""
    queue = list(range(count))

    async def worker() -> None:
        while queue:
            n = queue.pop()
            async with session.post(url + "/v1/score", json=payment(n, "open")) as response:
                assert (await response.json())["decision"] == "challenge"

    await asyncio.gather(*(worker() for _ in range(32)))


async def poll(
    session: aiohttp.ClientSession, url: str, customers: int, stop: asyncio.Event, pause: float
) -> int:
    """Read random customers' prompts until ``stop``, ``pause`` s apart; how many reads."""
    reads = 0
    while not stop.is_set():
        customer = random.randrange(customers)
        async with session.get(f"{url}/v1/customers/cus_{customer}/prompts") as response:
            await response.read()
        reads += 1
        await asyncio.sleep(pause)
    return reads


async def measure(
    url: str, opened: int, pollers: int, samples: int, pause: float
) -> dict[str, float]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await open_dialogues(session, url, opened)
        await score_many(session, url, range(opened, opened + 200), "warm")
        alone = await score_many(session, url, range(opened, opened + samples), "alone")
        stop = asyncio.Event()
        readers = [
            asyncio.create_task(poll(session, url, opened, stop, pause)) for _ in range(pollers)
        ]
        started = time.perf_counter()
        loaded = await score_many(session, url, range(opened, opened + samples), "loaded")
        elapsed = time.perf_counter() - started
        stop.set()
        reads = sum(await asyncio.gather(*readers))
    p50_alone, p50_loaded = statistics.median(alone), statistics.median(loaded)
    return {
        "open_dialogues": opened,
        "pollers": pollers,
        "interval_s": pause,
        "score_p50_ms_alone": round(p50_alone * 1000, 2),
        "score_p50_ms_with_pollers": round(p50_loaded * 1000, 2),
        "ratio": round(p50_loaded / p50_alone, 2),
        "prompt_reads_per_s": round(reads / elapsed),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, default=8000, help="open dialogues (default 8000)")
    parser.add_argument("--pollers", type=int, default=100, help="prompt readers (default 100)")
    parser.add_argument("--samples", type=int, default=500, help="scores per phase (default 500)")
    parser.add_argument(
        "--interval", type=float, default=0.0,
        help="seconds each poller waits between reads (default 0: back to back, a flood)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args()
    extra = {"FRICTION_CHALLENGE_AT": "0", "FRICTION_DEFAULT_CHANNELS": "in_app",
             "FRICTION_EXPLORE_SHARE": "0", "FRICTION_MAX_INFLIGHT": "4096"}  # fmt: skip
    port = free_port()
    with (
        tempfile.TemporaryDirectory() as tmp,
        friction(Path(tmp), resolve_models(None), port, extra),
    ):
        url = f"http://127.0.0.1:{port}"
        result = asyncio.run(measure(url, args.open, args.pollers, args.samples, args.interval))
    if not args.json:
        print(f"scoring p50 alone {result['score_p50_ms_alone']} ms, with {args.pollers} "
              f"prompt pollers over {args.open} open dialogues "
              f"{result['score_p50_ms_with_pollers']} ms (x{result['ratio']}); "
              f"{result['prompt_reads_per_s']} prompt reads/s")  # fmt: skip
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
