"""The SMS channel through the real ``twilio`` SDK against the local fake Twilio.

Both the fake and a tiny webhook receiver (standing in for friction's webhooks) run
in the test's event loop on 127.0.0.1; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from friction.cli.fake_twilio import register
from friction.devtools.fake_twilio import FAKE_TWILIO, FakeTwilio, start_fake_twilio
from friction.dialogue.channels.sms import DEFAULT_API_BASE, TwilioSmsChannel, _TwilioHttpClient
from friction.dialogue.twilio_signature import SIGNATURE_HEADER, verify
from friction.errors import ChannelError
from friction.ports import Channel, OutboundMessage

pytestmark = pytest.mark.timeout(30)

SID = "AC" + "1f" * 16
TOKEN = "test-auth-token-0123456789"
FROM = "+15005550006"
PHONE = "+447700900123"
TEXT = "Did you just pay EUR 420.00 at ACME Electronics? Reply YES or NO"


@dataclass
class Receiver:
    """Stands in for friction's webhooks: records every POST it gets."""

    base_url: str = ""
    posts: list[tuple[str, dict[str, str], str | None]] = field(default_factory=list)

    def received(self, path: str) -> list[tuple[dict[str, str], str | None]]:
        return [(form, sig) for p, form, sig in self.posts if p == path]


@dataclass
class Fake:
    state: FakeTwilio
    base_url: str

    async def get(self, path: str) -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.base_url + path) as response,
        ):
            return await response.json()

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.base_url + path, json=body) as response,
        ):
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()


async def eventually(check: Callable[[], bool], within_s: float = 30.0) -> None:
    """Wait until check() holds (callbacks are asynchronous), or fail."""
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()

    async def record(request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        rec.posts.append((request.path, form, request.headers.get(SIGNATURE_HEADER)))
        if request.path.endswith("/sms"):
            return web.Response(text="<Response/>", content_type="text/xml")
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/webhooks/twilio/{kind}", record)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    rec.base_url = f"http://{host}:{port}"
    yield rec
    await runner.cleanup()


@pytest.fixture
async def fake(receiver: Receiver) -> AsyncIterator[Fake]:
    state = FakeTwilio(account_sid=SID, auth_token=TOKEN, phone_number=FROM)
    state.config.webhook_url = receiver.base_url
    state.config.callback_delay_seconds = 0.01
    runner, base_url = await start_fake_twilio("127.0.0.1", 0, fake=state)
    assert runner.app[FAKE_TWILIO] is state
    yield Fake(state, base_url)
    await runner.cleanup()


@pytest.fixture
async def channel(fake: Fake, receiver: Receiver) -> AsyncIterator[TwilioSmsChannel]:
    sms = TwilioSmsChannel(
        SID,
        TOKEN,
        FROM,
        api_base=fake.base_url,
        status_callback_url=receiver.base_url + "/webhooks/twilio/status",
        timeout_s=0.5,
    )
    as_port: Channel = sms  # mypy checks that the adapter implements the port
    assert as_port.name == "sms"
    yield sms
    await sms.close()


def prompt(phone: str | None = PHONE, text: str = TEXT) -> OutboundMessage:
    return OutboundMessage(
        dialogue_id="dlg_1", customer_id="cus_42", phone=phone, locale="en", text=text
    )


async def test_send_goes_through_the_sdk_to_the_fake(channel: TwilioSmsChannel, fake: Fake) -> None:
    sid = await channel.send(prompt())

    assert sid.startswith("SM")
    assert len(sid) == 34
    [message] = await fake.get("/_fake/messages")
    assert message["sid"] == sid
    assert (message["to"], message["from"], message["body"]) == (PHONE, FROM, TEXT)
    assert message["account_sid"] == SID
    assert message["num_segments"] == "1"


async def test_status_callbacks_arrive_signed(
    channel: TwilioSmsChannel, receiver: Receiver
) -> None:
    sid = await channel.send(prompt())

    await eventually(lambda: len(receiver.received("/webhooks/twilio/status")) == 2)
    url = receiver.base_url + "/webhooks/twilio/status"
    callbacks = receiver.received("/webhooks/twilio/status")
    assert [form["MessageStatus"] for form, _ in callbacks] == ["sent", "delivered"]
    for form, signature in callbacks:
        assert form["MessageSid"] == sid
        assert form["To"] == PHONE
        assert verify(url, form, signature, TOKEN)
        assert not verify(url, form, signature, "another-token")


async def test_failing_number_is_reported_failed(
    channel: TwilioSmsChannel, fake: Fake, receiver: Receiver
) -> None:
    await fake.post("/_fake/config", {"fail_numbers": [PHONE]})
    sid = await channel.send(prompt())

    await eventually(lambda: len(receiver.received("/webhooks/twilio/status")) == 1)
    [(form, signature)] = receiver.received("/webhooks/twilio/status")
    assert (form["MessageSid"], form["MessageStatus"]) == (sid, "failed")
    assert form["ErrorCode"]
    assert verify(receiver.base_url + "/webhooks/twilio/status", form, signature, TOKEN)
    [message] = await fake.get("/_fake/messages")
    assert message["status"] == "failed"


async def test_wrong_credentials_are_refused(fake: Fake) -> None:
    sms = TwilioSmsChannel(SID, "wrong-token", FROM, api_base=fake.base_url, timeout_s=0.5)
    try:
        with pytest.raises(ChannelError, match=r"HTTP 401, Twilio error 20003"):
            await sms.send(prompt())
    finally:
        await sms.close()
    assert await fake.get("/_fake/messages") == []


async def test_twilio_500_is_a_channel_error(channel: TwilioSmsChannel, fake: Fake) -> None:
    await fake.post("/_fake/config", {"fail_status": 500})

    with pytest.raises(ChannelError, match="HTTP 500") as caught:
        await channel.send(prompt())

    assert PHONE not in caught.value.message
    assert "***0123" in caught.value.message
    assert await fake.get("/_fake/messages") == []


async def test_hanging_twilio_times_out_quickly(channel: TwilioSmsChannel, fake: Fake) -> None:
    await fake.post("/_fake/config", {"hang_seconds": 30})

    started = time.monotonic()
    with pytest.raises(ChannelError, match="timed out"):
        await channel.send(prompt())
    assert time.monotonic() - started < 15  # the channel's time-out, not the 30 s hang


async def test_unreachable_twilio_is_a_channel_error() -> None:
    runner, base_url = await start_fake_twilio("127.0.0.1", 0)
    await runner.cleanup()  # the port is now closed
    sms = TwilioSmsChannel(SID, TOKEN, FROM, api_base=base_url, timeout_s=0.5)
    try:
        with pytest.raises(ChannelError, match="unreachable"):
            await sms.send(prompt())
    finally:
        await sms.close()


async def test_no_phone_number_is_a_channel_error(channel: TwilioSmsChannel) -> None:
    with pytest.raises(ChannelError, match="no phone number"):
        await channel.send(prompt(phone=None))


async def test_logs_never_carry_the_phone_number(
    channel: TwilioSmsChannel, fake: Fake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await channel.send(prompt())
    await fake.post("/_fake/config", {"fail_status": 400})
    with pytest.raises(ChannelError):
        await channel.send(prompt())

    assert caplog.records  # the SDK and the channel did log
    assert PHONE not in caplog.text
    assert PHONE[1:] not in caplog.text


async def test_arabic_prompt_counts_ucs2_segments(channel: TwilioSmsChannel, fake: Fake) -> None:
    text = "هل دفعت للتو 420.00 يورو لدى ACME Electronics؟ أجب بنعم أو لا. " * 2
    await channel.send(prompt(text=text))

    [message] = await fake.get("/_fake/messages")
    assert message["body"] == text
    assert message["num_segments"] == "2"


async def test_inbound_sms_reaches_the_service_signed(fake: Fake, receiver: Receiver) -> None:
    status, answer = await fake.post("/_fake/inbound", {"from": PHONE, "body": "YES"})

    assert status == 200
    assert answer["status"] == 200
    assert answer["body"] == "<Response/>"
    [(form, signature)] = receiver.received("/webhooks/twilio/sms")
    assert (form["From"], form["To"], form["Body"]) == (PHONE, FROM, "YES")
    assert form["MessageSid"] == answer["message_sid"]
    assert (form["AccountSid"], form["NumMedia"]) == (SID, "0")
    url = receiver.base_url + "/webhooks/twilio/sms"
    assert verify(url, form, signature, TOKEN)
    assert not verify(url, {**form, "Body": "NO"}, signature, TOKEN)


async def test_inbound_can_replay_a_message_sid(fake: Fake, receiver: Receiver) -> None:
    _, first = await fake.post("/_fake/inbound", {"from": PHONE, "body": "YES"})
    _, again = await fake.post(
        "/_fake/inbound", {"from": PHONE, "body": "YES", "message_sid": first["message_sid"]}
    )

    sids = [form["MessageSid"] for form, _ in receiver.received("/webhooks/twilio/sms")]
    assert sids == [first["message_sid"], first["message_sid"]]
    assert again["message_sid"] == first["message_sid"]


async def test_fake_rejects_bad_config(fake: Fake) -> None:
    status, _ = await fake.post("/_fake/config", {"fail_status": 200})
    assert status == 400
    status, _ = await fake.post("/_fake/config", {"no_such_mode": True})
    assert status == 400


@pytest.mark.parametrize(
    ("api_base", "expected"),
    [
        (DEFAULT_API_BASE, "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"),
        ("http://127.0.0.1:8099", "http://127.0.0.1:8099/2010-04-01/Accounts/AC1/Messages.json"),
        (
            "http://proxy.local/twilio/",
            "http://proxy.local/twilio/2010-04-01/Accounts/AC1/Messages.json",
        ),
    ],
)
def test_api_base_replaces_only_the_origin(api_base: str, expected: str) -> None:
    client = _TwilioHttpClient(api_base, timeout_s=1.0)
    assert client.rebase("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json") == expected


def test_cli_registers_fake_twilio(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="friction")
    register(parser.add_subparsers())
    args = parser.parse_args(["fake-twilio", "--port", "0", "--webhook-url", "http://x"])
    assert callable(args.func)
    assert (args.port, args.webhook_url) == (0, "http://x")
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["fake-twilio", "--help"])
    assert exited.value.code == 0
    assert "FRICTION_TWILIO_API_BASE" in capsys.readouterr().out
