"""Verdict webhooks resolve once and connect to the checked address (issue 15, item 5).

A name that passed the start-up check may answer differently later (DNS rebinding). Each
delivery resolves through ``CheckedResolver``: the whole answer is refused if any address
in it is internal, and aiohttp connects to exactly the addresses checked, keeping the name
in the Host header. The first test uses the system resolver end to end; the others
script the DNS answers (no DNS server can be run here) in front of a real receiver.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from friction.domain.decision import PaymentStatus
from friction.events.webhooks import CheckedResolver, VerdictWebhooks
from tests.servers import receiver, service_env

pytestmark = pytest.mark.timeout(60)


class Received:
    def __init__(self) -> None:
        self.hosts: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.hosts.append(request.headers["Host"])
        return web.Response(status=204)


class ScriptedDns(AbstractResolver):
    """DNS answers the test sets: what a rebinding name server would say at that moment."""

    def __init__(self) -> None:
        self.answer: list[str] = []
        self.asked = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked += 1
        return [
            ResolveResult(hostname=host, host=address, port=port, family=family, proto=0, flags=0)
            for address in self.answer
        ]

    async def close(self) -> None:
        return None


def status() -> PaymentStatus:
    now = datetime.now(UTC)
    return PaymentStatus(
        payment_id="pay_1", decision="challenge", verdict="released", score=0.5,
        model_version="m", reasons=[], decided_at=now, verdict_at=now,
    )  # fmt: skip


async def test_a_name_resolving_to_loopback_is_refused_at_delivery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``localhost`` through the system resolver: refused without the loopback setting."""
    got = Received()
    async with receiver("/hook", got.handle) as url:
        port = url.rsplit(":", 1)[1].split("/")[0]
        hooks = VerdictWebhooks({"default": (f"http://localhost:{port}/hook", b"k")}, attempts=1)
        task = asyncio.create_task(hooks.run())
        hooks.enqueue("default", status())
        deadline = asyncio.get_running_loop().time() + 30
        while "given up" not in caplog.text:
            assert asyncio.get_running_loop().time() < deadline, caplog.text
            await asyncio.sleep(0.05)
        task.cancel()
    assert got.hosts == [] and hooks.delivered == 0
    assert "refused (SSRF): 127.0.0.1 is loopback" in caplog.text


async def test_the_connection_goes_to_the_checked_address_with_the_name_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    got, dns = Received(), ScriptedDns()
    connector = aiohttp.TCPConnector(
        resolver=CheckedResolver(allow_loopback=True, inner=dns),
        use_dns_cache=False,
        force_close=True,
    )
    async with (
        receiver("/hook", got.handle) as url,
        aiohttp.ClientSession(connector=connector) as session,
    ):
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        hook = f"http://hooks.example:{port}/hook"  # a name no real resolver knows
        dns.answer = ["127.0.0.1"]
        async with session.post(hook, data=b"{}") as response:
            assert response.status == 204
        assert got.hosts == [f"hooks.example:{port}"] and dns.asked == 1
        for rebound in (["169.254.169.254"], ["127.0.0.1", "10.0.0.1"], ["::ffff:0:a9fe:a9fe"]):
            dns.answer = rebound
            with pytest.raises(aiohttp.ClientConnectorError, match="SSRF"):
                await session.post(hook, data=b"{}")
    assert got.hosts == [f"hooks.example:{port}"]  # nothing after the rebinding
    assert dns.asked == 4  # one resolution per connection, never a second one


def test_a_refused_callback_url_stops_serve_with_one_line(tmp_path: Path, models_dir: Path) -> None:
    env = service_env(tmp_path, models_dir, gateway_callback_url="http://127.0.0.1:9/verdicts")
    done = subprocess.run(
        [sys.executable, "-m", "friction", "serve"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: FRICTION_GATEWAY_CALLBACK_URL")
    assert "FRICTION_WEBHOOK_ALLOW_LOOPBACK=true" in lines[0]
