"""A promoted model is served without a restart and without failing a request."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from friction.settings import Settings
from friction.training.registry import champion_version, promote
from friction.training.train import TrainOptions, train
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
