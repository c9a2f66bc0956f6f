"""Shared fixtures: settings built explicitly, a small simulated world, a tiny trained model."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from friction.api.server import GuardedAppRunner
from friction.app import build_app
from friction.offline.train import TrainOptions, train
from friction.settings import Settings
from friction.simulation import SimConfig, write_stream

pytest_plugins = ["tests.servers", "tests.dialogues"]
REPLAY_WINDOW_DAYS = 36_500

RECENTLY = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:15:00Z")
"""A time inside the window ``POST /v1/score`` accepts, whatever the day the suite runs."""
CANONICAL: dict[str, Any] = {
    "payment_id": "pay_0001",
    "occurred_at": RECENTLY,
    "amount": {"value": 42000, "currency": "EUR"},
    "customer": {"id": "cus_42", "phone": "+447700900123", "locale": "en-GB"},
    "instrument": {"token": "tok_7f3a9c", "bin": "424242", "last4": "4242"},
    "merchant": {"id": "mer_acme", "name": "ACME Electronics", "mcc": "5732", "country": "GB"},
    "channel": "ecom",
    "device": {"id": "dev_9", "ip": "203.0.113.7"},
}


PRODUCTION_SECRETS: dict[str, str] = {
    "token_secret": "test-token-secret-0123456789",
    "pseudonym_secret": "test-pseudonym-secret-0123456789",
}
"""Secrets of a test's own (with API keys set, the development defaults are refused)."""


def secret_env() -> dict[str, str]:
    """``PRODUCTION_SECRETS`` as the environment of a ``friction serve`` child."""
    return {f"FRICTION_{name.upper()}": value for name, value in PRODUCTION_SECRETS.items()}


@pytest.fixture(scope="session")
def sim_stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small seeded simulated stream (a few days, a few hundred customers)."""
    path = tmp_path_factory.mktemp("sim") / "stream.jsonl"
    write_stream(SimConfig(seed=11, days=14, customers=400), path, progress=False)
    return path


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory, sim_stream: Path) -> Path:
    """A registry holding one small model trained on ``sim_stream`` and promoted."""
    models = tmp_path_factory.mktemp("models")
    # 40 rounds at a learning rate for few trees: a model that separates, trained in seconds
    options = TrainOptions(sim_stream, models, rounds=40, learning_rate=0.1, promote="always")
    train(options)
    return models


@pytest.fixture
def registry(tmp_path: Path, models_dir: Path) -> Path:
    """A writable copy of ``models_dir`` for tests that train, promote or add models."""
    copy = tmp_path / "models"
    shutil.copytree(models_dir, copy)
    return copy


@pytest.fixture
def make_settings(tmp_path: Path, models_dir: Path) -> Callable[..., Settings]:
    """Settings for a test: state in tmp_path, the tiny model, overrides as keywords."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "var",
            "models_dir": models_dir,
            "expiry_check_seconds": 0.05,
            # verdict webhooks go to fake gateways on 127.0.0.1 (SSRF guard: test_webhook_ssrf)
            "webhook_allow_loopback": True,
            # tests replay simulated history (from 2026-11-01): test_score_api checks the window
            "occurred_at_max_age_days": REPLAY_WINDOW_DAYS,
        }
        values.update(overrides)
        return Settings(**values)

    return make


Client = TestClient[web.Request, web.Application]


class GuardedTestServer(TestServer):
    """``TestServer`` on the runner the service runs on (malformed requests answered blind)."""

    async def _make_runner(self, **kwargs: Any) -> web.AppRunner:
        return GuardedAppRunner(self.app, **kwargs)


@pytest.fixture
async def start_app() -> AsyncIterator[Callable[..., Awaitable[Client]]]:
    """Start real app instances on loopback ports (restart tests start several)."""
    clients: list[Client] = []

    async def start(settings: Settings, port: int | None = None) -> Client:
        # ``port``: when the service must know its own URL (FRICTION_PUBLIC_URL for Twilio
        # signatures), the test picks the port first; otherwise any free port.
        server = GuardedTestServer(build_app(settings), host="127.0.0.1", port=port)
        client: Client = TestClient(server)
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in reversed(clients):
        await client.close()


@pytest.fixture
async def client(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[Client]:
    """A running service on default test settings (the open development mode, ``/v1/dev/*``
    included)."""
    settings = make_settings(dev_endpoints=True)
    async with TestClient(GuardedTestServer(build_app(settings), host="127.0.0.1")) as c:
        yield c
