"""The bench's ceiling (``loadtest/ceiling.py``) computes exactly what friction computes.

The ceiling bounds friction's throughput only if it does friction's own unskippable
work — not a cheaper stand-in. Same payments, same model: the same scores.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from friction.app import build_app
from friction.scoring.registry import load_model
from friction.settings import Settings
from tests.conftest import CANONICAL
from tests.servers import ROOT

sys.path.insert(0, str(ROOT / "loadtest"))
import ceiling


def _payments() -> list[dict[str, object]]:
    """One customer's day at two terminals: amounts that move the features and the score."""
    out = []
    for i, value in enumerate([1200, 4500, 900, 42000, 2500, 180000, 3100, 99000]):
        payment = copy.deepcopy(CANONICAL)
        payment["payment_id"] = f"pay_ceiling_{i}"
        payment["occurred_at"] = f"{CANONICAL['occurred_at'][:10]}T{8 + i:02d}:15:00Z"
        payment["amount"] = {"value": value, "currency": "EUR"}
        payment["merchant"] = {**CANONICAL["merchant"], "terminal_id": f"term_{i % 2}"}
        out.append(payment)
    return out


async def test_ceiling_scores_equal_friction_scores(
    models_dir: Path, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    ceiling_app = ceiling.build_ceiling(load_model(models_dir), settings)
    async with (
        TestClient(TestServer(build_app(settings), host="127.0.0.1")) as service,
        TestClient(TestServer(ceiling_app, host="127.0.0.1")) as bound,
    ):
        scores: list[tuple[float, float]] = []
        for payment in _payments():
            ours, theirs = (
                await service.post("/v1/score", json=payment),
                await bound.post("/v1/score", json=payment),
            )
            assert ours.status == theirs.status == 200, await theirs.text()
            scores.append(((await ours.json())["score"], (await theirs.json())["score"]))
        bad = dict(CANONICAL, payment_id="pay_ceiling_bad", amount={"value": -1})
        assert (await bound.post("/v1/score", json=bad)).status == 422  # it validates too
    assert [a for a, _ in scores] == pytest.approx([b for _, b in scores], abs=1e-6)
    assert len({round(a, 4) for a, _ in scores}) > 3  # the features moved the score
