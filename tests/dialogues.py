"""Helpers shared by the dialogue tests: payments, waiting for verdicts, the event log."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import aiohttp
import pytest
from aiohttp.test_utils import unused_port

from friction.devtools.fake_twilio import FakeConfig, FakeTwilio, start_fake_twilio
from friction.domain.events import DialogueEvent, LabelEvent
from friction.events.file_bus import read_events
from friction.settings import Settings
from tests.conftest import CANONICAL, Client

StartApp = Callable[..., Awaitable[Client]]
PHONE = "+447700900123"


def payment(payment_id: str, *, locale: str = "en-GB", **changes: Any) -> dict[str, Any]:
    """The canonical payment with a new id (and locale, and any top-level changes)."""
    body = copy.deepcopy(CANONICAL)
    body["payment_id"] = payment_id
    body["customer"]["locale"] = locale
    body.update(changes)
    return body


def transfer(payment_id: str, **changes: Any) -> dict[str, Any]:
    """A transfer to a payee the customer never paid (the new-payee flow)."""
    payee = {"id": "pye_new_1", "name": "J. Smith", "account_last4": "9911"}
    return payment(payment_id, channel="transfer", payee=payee, **changes)


async def challenge(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    """Score ``body`` and insist that it was challenged."""
    response = await client.post("/v1/score", json=body)
    scored: dict[str, Any] = await response.json()
    assert response.status == 200 and scored["decision"] == "challenge", scored
    return scored


async def eventually(check: Callable[[], Awaitable[bool]], within_s: float = 30.0) -> None:
    """Wait until ``await check()`` holds (callbacks and timers are asynchronous), or fail."""
    deadline = time.monotonic() + within_s
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        await asyncio.sleep(0.02)


async def verdict(client: Client, payment_id: str, wait: float = 0.0) -> str:
    """The payment's verdict now (or once it lands, with ``wait``)."""
    response = await client.get(f"/v1/payments/{payment_id}", params={"wait": str(wait)})
    body: dict[str, Any] = await response.json()
    assert response.status == 200, body
    return str(body["verdict"])


async def settled(client: Client, payment_id: str, within_s: float = 30.0) -> str:
    """The verdict once it is no longer pending (long-poll), or fail."""
    found = await verdict(client, payment_id, wait=within_s)
    assert found != "pending", f"{payment_id} still pending after {within_s}s"
    return found


def dialogue_events(data_dir: Path, payment_id: str | None = None) -> list[DialogueEvent]:
    """Dialogue events in the local event log (the outbox relays them just after each commit)."""
    found = [
        e for e in read_events(data_dir / "events", "dialogues") if isinstance(e, DialogueEvent)
    ]
    return [e for e in found if payment_id is None or e.payment_id == payment_id]


def label_events(data_dir: Path, payment_id: str | None = None) -> list[LabelEvent]:
    """Label events in the local event log."""
    found = [e for e in read_events(data_dir / "events", "labels") if isinstance(e, LabelEvent)]
    return [e for e in found if payment_id is None or e.payment_id == payment_id]


@dataclass
class FakeSms:
    """The in-process fake Twilio: its state (messages, config) and its base URL."""

    state: FakeTwilio
    base_url: str

    def outbound(self, to: str = PHONE) -> list[str]:
        """Bodies of the SMS the service sent to ``to``, oldest first."""
        return [
            m["body"]
            for m in self.state.messages
            if m["direction"] == "outbound-api" and m["to"] == to
        ]

    def settings(self, make_settings: Callable[..., Settings], port: int, **over: Any) -> Settings:
        """Service settings with Twilio pointed at this fake and webhooks at ``port``."""
        url = f"http://127.0.0.1:{port}"
        self.state.config.webhook_url = url
        values: dict[str, Any] = {
            "challenge_at": 0.0,
            "default_channels": ["sms"],
            "twilio_account_sid": self.state.account_sid,
            "twilio_auth_token": self.state.auth_token,
            "twilio_from_number": self.state.phone_number,
            "twilio_api_base": self.base_url,
            "public_url": url,
        }
        return make_settings(**(values | over))

    def env(self, port: int) -> dict[str, str]:
        """``FRICTION_*`` variables pointing a service process on ``port`` at this fake."""
        url = f"http://127.0.0.1:{port}"
        self.state.config.webhook_url = url
        return {
            "FRICTION_PUBLIC_URL": url,
            "FRICTION_TWILIO_ACCOUNT_SID": self.state.account_sid,
            "FRICTION_TWILIO_AUTH_TOKEN": self.state.auth_token,
            "FRICTION_TWILIO_FROM_NUMBER": self.state.phone_number,
            "FRICTION_TWILIO_API_BASE": self.base_url,
        }

    async def reply(self, body: str, sender: str = PHONE, sid: str | None = None) -> str:
        """Text ``body`` to the service through the fake (signed); returns the TwiML answer."""
        sms: dict[str, Any] = {"from": sender, "body": body}
        if sid:
            sms["message_sid"] = sid
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.base_url + "/_fake/inbound", json=sms) as response,
        ):
            answer: dict[str, Any] = await response.json()
        assert response.status == 200 and answer["status"] == 200, answer
        return str(answer["body"])


@pytest.fixture
async def fake_sms() -> AsyncIterator[FakeSms]:
    """A fake Twilio in this event loop on 127.0.0.1 (request it before ``start_app``)."""
    state = FakeTwilio(config=FakeConfig(callback_delay_seconds=0.02))
    runner, base_url = await start_fake_twilio(fake=state)
    try:
        yield FakeSms(state, base_url)
    finally:
        await runner.cleanup()


async def start_sms_service(
    start_app: StartApp, fake: FakeSms, make_settings: Callable[..., Settings], **over: Any
) -> tuple[Client, Settings]:
    """The service on a port picked first, so its public URL (signatures) is known."""
    port = unused_port()
    settings = fake.settings(make_settings, port, **over)
    return await start_app(settings, port=port), settings


def twiml_text(twiml: str) -> str:
    """The message inside a TwiML answer ('' for an empty ``<Response/>``)."""
    root = ElementTree.fromstring(twiml)
    message = root.find("Message")
    return "" if message is None or message.text is None else message.text
