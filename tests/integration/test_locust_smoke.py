"""A bounded headless locust run of ``loadtest/locustfile.py`` against a real service."""

from __future__ import annotations

import asyncio
import csv
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from friction.app import build_app
from friction.settings import Settings
from tests.servers import ROOT, free_port

pytestmark = pytest.mark.timeout(60)
LOCUST = Path(sys.executable).parent / "locust"
TOKEN = "locust-smoke-auth-token"
KINDS = (
    "/v1/score",
    "/v1/customers/[id]/prompts",
    "/v1/dialogues/[id]/answer",
    "/webhooks/twilio/sms",
)


async def test_locust_smoke_run_has_no_failures(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    settings = make_settings(
        http_port=port,
        public_url=host,
        twilio_auth_token=TOKEN,
        challenge_at=0.0,  # every payment asks (within the budget): answers to give
        default_channels=["in_app"],
    )
    server = TestServer(build_app(settings), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRICTION_")}
        env.update(
            FRICTION_TWILIO_AUTH_TOKEN=TOKEN, FRICTION_PUBLIC_URL=host, LOCUST_CUSTOMERS="40"
        )
        argv = [
            str(LOCUST), "-f", str(ROOT / "loadtest" / "locustfile.py"), "--headless",
            "-u", "10", "-r", "5", "-t", "10s", "--host", host, "--stop-timeout", "3",
            "--csv", str(tmp_path / "smoke"), "--only-summary", "--loglevel", "WARNING",
        ]  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output, _ = await asyncio.wait_for(proc.communicate(), timeout=40)
    finally:
        await server.close()
    with (tmp_path / "smoke_stats.csv").open() as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    log = output.decode(errors="replace")[-3000:]
    assert int(rows["Aggregated"]["Failure Count"]) == 0, log
    for kind in KINDS:
        assert kind in rows and int(rows[kind]["Request Count"]) > 0, (kind, log)
    assert proc.returncode == 0, log
