"""A promoted model is served without a restart and without failing a request."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from friction.offline.train import TrainOptions, train
from friction.scoring.policy import PolicyFit
from friction.scoring.registry import POLICY_FILE, champion_version, promote
from friction.settings import Settings
from tests.conftest import CANONICAL, Client

StartApp = Callable[[Settings], Awaitable[Client]]


async def test_promotion_is_picked_up_under_load(
    sim_stream: Path,
    registry: Path,
    make_settings: Callable[..., Settings],
    start_app: StartApp,
) -> None:
    old = champion_version(registry)
    candidate = train(
        TrainOptions(data=sim_stream, models_dir=registry, rounds=20, seed=5, promote="never")
    )
    new = candidate.card.version
    assert new != old and champion_version(registry) == old

    client = await start_app(make_settings(models_dir=registry, model_check_seconds=0.05))
    versions: list[str] = []

    async def score(n: int) -> None:
        body = copy.deepcopy(CANONICAL)
        body["payment_id"] = f"pay_swap_{n}"
        response = await client.post("/v1/score", json=body)
        assert response.status == 200, await response.text()
        versions.append((await response.json())["model_version"])

    async def load(first: int) -> None:
        await asyncio.gather(*(score(n) for n in range(first, first + 50)))

    await load(0)
    promote(registry, new)
    deadline = time.monotonic() + 30  # the watcher loads and compiles the new champion
    round_ = 0
    while versions[-1] != new and time.monotonic() < deadline:
        round_ += 1
        await load(round_ * 50)
        await asyncio.sleep(0.05)
    assert versions[0] == old and versions[-1] == new
    assert set(versions) == {old, new}
    ready = await (await client.get("/readyz")).json()
    assert ready["model"] == new


async def test_the_policy_fitted_with_a_model_is_served_and_swapped_with_it(
    sim_stream: Path,
    registry: Path,
    make_settings: Callable[..., Settings],
    start_app: StartApp,
) -> None:
    """The champion's ``policy.json`` decides, and a promotion brings its own."""
    old = champion_version(registry)
    expensive = PolicyFit(question_price_minor=1e12)  # no question is ever worth asking
    (registry / old / POLICY_FILE).write_text(expensive.model_dump_json())
    # every payment risky, and large: the policy weighs asking against allowing or declining
    settings = make_settings(models_dir=registry, model_check_seconds=0.05, challenge_at=1e-6)
    client = await start_app(settings)

    async def decision(n: int) -> str:
        body = copy.deepcopy(CANONICAL)
        body["payment_id"] = f"pay_fit_{n}"
        body["customer"]["id"] = f"cus_fit_{n}"
        body["amount"]["value"] = 100_000_000
        scored = await (await client.post("/v1/score", json=body)).json()
        return str(scored["decision"])

    assert await decision(0) != "challenge"
    candidate = train(
        TrainOptions(data=sim_stream, models_dir=registry, rounds=20, seed=5, promote="never")
    )
    new = candidate.card.version
    (registry / new / POLICY_FILE).write_text(PolicyFit().model_dump_json())
    promote(registry, new)
    deadline, n = time.monotonic() + 30, 1
    while (await (await client.get("/readyz")).json())["model"] != new:
        assert time.monotonic() < deadline, "the new champion was never served"
        await asyncio.sleep(0.05)
    n += 1
    assert await decision(n) == "challenge"  # with the default fit a question is worth it
