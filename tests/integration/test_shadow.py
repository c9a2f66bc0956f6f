"""A shadow challenger is scored and logged beside the champion and never decides."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from friction.domain.events import DecisionEvent
from friction.events.file_bus import read_events
from friction.offline.dataset import read_lines
from friction.scoring.features import FEATURE_NAMES
from friction.scoring.registry import ModelCard, champion_version, load_model, save_candidate
from friction.settings import Settings
from tests.conftest import Client

StartApp = Callable[[Settings], Awaitable[Client]]
PAYMENTS = 120


def save_alarmist(registry: Path) -> str:
    """A challenger that scores every payment ~0.99: were it to decide, all would be declined."""
    rng = np.random.default_rng(3)
    X = rng.lognormal(size=(200, len(FEATURE_NAMES)))
    y = (rng.random(200) < 0.95).astype(np.float32)
    params = {"objective": "binary:logistic", "base_score": 0.995, "max_depth": 2, "nthread": 1}
    booster = xgb.train(params, xgb.DMatrix(X, y), num_boost_round=3)
    card = ModelCard(version="alarmist", created_at=datetime.now(UTC))
    save_candidate(booster, card, registry)
    return card.version


def decided(responses: dict[str, Any]) -> dict[str, Any]:
    """The responses less what differs between any two runs (dialogue ids and expiries)."""
    return {
        payment_id: {**body, "dialogue": body["dialogue"] and body["dialogue"]["channel"]}
        for payment_id, body in responses.items()
    }


async def serve(settings: Settings, start_app: StartApp, payments: list[dict[str, Any]]) -> Any:
    """Score ``payments``: the responses, the decision events once the app has drained, and
    the shadow version ``/readyz`` reported."""
    client = await start_app(settings)
    shadow_ready = (await (await client.get("/readyz")).json())["shadow"]
    responses = {}
    for payment in payments:
        response = await client.post("/v1/score", json=payment)
        assert response.status == 200, await response.text()
        responses[payment["payment_id"]] = await response.json()
    await client.close()  # drains the outbox to the event log
    events = list(read_events(settings.event_log_dir, "decisions"))
    assert all(isinstance(e, DecisionEvent) for e in events)
    by_payment = {e.payment_id: e for e in events if isinstance(e, DecisionEvent)}
    return responses, by_payment, shadow_ready


async def test_shadow_scores_are_logged_and_decisions_stay_the_champions(
    tmp_path: Path,
    sim_stream: Path,
    registry: Path,
    make_settings: Callable[..., Settings],
    start_app: StartApp,
) -> None:
    champion, shadow = champion_version(registry), save_alarmist(registry)
    challenger = load_model(registry, shadow)
    payments = [line["payment"] for line in itertools.islice(read_lines(sim_stream), PAYMENTS)]

    plain = make_settings(models_dir=registry, data_dir=tmp_path / "plain")
    shadowed = make_settings(models_dir=registry, data_dir=tmp_path / "shadow", shadow_model=shadow)
    alone, alone_events, no_shadow = await serve(plain, start_app, payments)
    served, events, shadow_ready = await serve(shadowed, start_app, payments)
    assert (no_shadow, shadow_ready) == (None, shadow)

    assert decided(served) == decided(alone)  # decisions, scores, reasons, versions: unchanged
    assert len(events) == PAYMENTS
    for payment_id, event in events.items():
        assert event.shadow is not None and alone_events[payment_id].shadow is None
        assert event.model_version == champion and event.shadow.model_version == shadow
        assert event.score == served[payment_id]["score"]
        vector = [np.nan if v is None else v for v in event.features.values()]
        assert event.shadow.score == pytest.approx(challenger.predict(vector), abs=1e-6)
        assert event.shadow.score > plain.decline_at  # it would have declined everything
    assert {e.decision for e in events.values()} != {"decline"}


async def test_a_shadow_that_cannot_load_is_skipped_with_a_warning(
    make_settings: Callable[..., Settings],
    start_app: StartApp,
    sim_stream: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(shadow_model="no-such-version")
    payments = [line["payment"] for line in itertools.islice(read_lines(sim_stream), 5)]
    with caplog.at_level(logging.WARNING, logger="friction.scoring.shadow"):
        _, events, shadow_ready = await serve(settings, start_app, payments)
    assert "shadow model no-such-version not loaded" in caplog.text and shadow_ready is None
    assert len(events) == 5 and all(e.shadow is None for e in events.values())
