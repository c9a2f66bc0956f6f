"""Twilio slow or failing: scoring never waits for it, dialogues move on.

The service runs in a process of its own (``friction serve``; the load generator
and the fake Twilio share the test's loop, not the service's), every payment is
challenged by SMS first, in-app second. Three phases in one test, same load shape:
a healthy fake Twilio, a fake that never answers (the send times out after
``FRICTION_TWILIO_TIMEOUT_SECONDS``), a fake that answers 500. The send runs off the
request path: while Twilio hangs, no ``POST /v1/score`` takes as long as the send's
time-out (were the send on the path, every challenged request would). How much latency
a fault costs is the bench's business, not a test's (a shared machine stalls).
Every dialogue whose SMS failed must climb to the in-app rung (or, for a customer
whose only channel is SMS, end in review), and no customer is texted twice.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import CANONICAL
from tests.dialogues import FakeSms, dialogue_events
from tests.servers import service_env, serving

pytestmark = pytest.mark.timeout(150)
PER_PHASE = 400
WORKERS = 2
TIMEOUT_S = 5.0
"""Far above any stall of a busy machine, so a request that took this long waited for Twilio."""
PHASES = ("warm", "base", "hang", "fail", "only")


def payment(tag: str, n: int) -> dict[str, Any]:
    """Payment ``n`` of a phase, by a customer (and phone) of its own: each is challenged."""
    body = copy.deepcopy(CANONICAL)
    body["payment_id"] = f"pay_{tag}_{n}"
    body["customer"] = {"id": f"cus_{tag}_{n}", "phone": f"+44770{PHASES.index(tag)}{n:06d}"}
    return body


async def closed_loop(session: aiohttp.ClientSession, url: str, tag: str) -> list[float]:
    """Score PER_PHASE payments with WORKERS always waiting; each request's seconds."""
    queue = list(range(PER_PHASE))
    seconds: list[float] = []

    async def worker() -> None:
        while queue:
            body = payment(tag, queue.pop())
            started = time.perf_counter()
            async with session.post(f"{url}/v1/score", json=body) as response:
                answer = await response.json()
            seconds.append(time.perf_counter() - started)
            assert response.status == 200 and answer["decision"] == "challenge", answer

    await asyncio.gather(*(worker() for _ in range(WORKERS)))
    return seconds


@pytest.fixture
async def service(
    tmp_path: Path, models_dir: Path, fake_sms: FakeSms
) -> AsyncIterator[tuple[str, Path]]:
    """The service in its own process, SMS then in-app, caps far above this test's sends."""
    env = service_env(
        tmp_path / "var", models_dir, challenge_at="0.0", explore_share="0",
        default_channels="sms,in_app", twilio_timeout_seconds=str(TIMEOUT_S),
        sms_spend_cap="10000", sms_per_prefix_cap="10000",
    )  # fmt: skip
    env |= fake_sms.env(int(env["FRICTION_HTTP_PORT"]))
    async with serving(env, tmp_path / "service.log") as process:
        yield process.url, tmp_path / "var"


async def on_rung(data_dir: Path, tag: str, state: str, channel: str, within_s: float) -> None:
    """Wait until every dialogue of the phase has an event ``state`` on ``channel``."""
    deadline = time.monotonic() + within_s
    while True:
        done = {
            e.payment_id
            for e in dialogue_events(data_dir)
            if (e.state, e.channel) == (state, channel)
        }
        missing = [n for n in range(PER_PHASE) if f"pay_{tag}_{n}" not in done]
        if not missing:
            return
        assert time.monotonic() < deadline, (
            f"{tag}: {len(missing)} dialogues never {state} on {channel}"
        )
        await asyncio.sleep(0.1)


async def test_hanging_or_failing_twilio_leaves_scoring_latency_and_climbs_the_ladder(
    service: tuple[str, Path], fake_sms: FakeSms
) -> None:
    url, data_dir = service
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await closed_loop(session, url, "warm")  # JIT, connections, page cache
        await closed_loop(session, url, "base")
        await on_rung(data_dir, "base", "sent", "sms", within_s=20)

        fake_sms.state.config.hang_seconds = 60.0
        hang = await closed_loop(session, url, "hang")
        await on_rung(data_dir, "hang", "sent", "in_app", within_s=30)
        fake_sms.state.config.hang_seconds = 0.0

        fake_sms.state.config.fail_status = 500
        await closed_loop(session, url, "fail")
        await on_rung(data_dir, "fail", "sent", "in_app", within_s=30)

        sms_only = payment("only", 0)  # nowhere to climb: the dialogue ends in review
        preferences = {"channels": ["sms"]}
        async with session.put(
            f"{url}/v1/customers/{sms_only['customer']['id']}/preferences", json=preferences
        ) as response:
            assert response.status == 200
        async with session.post(f"{url}/v1/score", json=sms_only) as response:
            assert (await response.json())["dialogue"]["channel"] == "sms"
        async with session.get(f"{url}/v1/payments/pay_only_0", params={"wait": "10"}) as response:
            assert (await response.json())["verdict"] == "review"

    print(f"while Twilio hangs: slowest score {max(hang) * 1000:.0f} ms")
    assert max(hang) < TIMEOUT_S  # no score request waited for the SMS send

    events = dialogue_events(data_dir)
    for tag in ("hang", "fail"):
        mine = [e for e in events if e.payment_id.startswith(f"pay_{tag}_")]
        states = Counter((e.state, e.channel) for e in mine)
        assert states[("escalated_failed", "sms")] == PER_PHASE  # each SMS failed once
        assert states[("sent", "sms")] == 0
        assert states[("sent", "in_app")] == PER_PHASE
    only = [(e.state, e.channel) for e in events if e.payment_id == "pay_only_0"]
    assert only == [("created", "sms"), ("failed", "sms")]
    outbound = [m["to"] for m in fake_sms.state.messages if m["direction"] == "outbound-api"]
    texted = Counter(outbound)
    assert len(texted) == PER_PHASE * 2 and set(texted.values()) == {1}  # warm + base, once each
