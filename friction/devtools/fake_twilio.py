"""A local fake of Twilio's SMS API, for tests, demos and development without an account.

Real Twilio costs money and needs the internet; this fake speaks the same wire
protocol, so friction's real ``TwilioSmsChannel`` (and the real ``twilio`` SDK) run
against it unchanged with ``FRICTION_TWILIO_API_BASE=http://127.0.0.1:8099``.

Twilio side:
    POST /2010-04-01/Accounts/{sid}/Messages.json   basic auth, Twilio-shaped JSON, 201;
        then signed status callbacks (``sent`` → ``delivered``, or ``failed``) to the
        message's ``StatusCallback``.
Test side (``/_fake``):
    GET  /_fake/messages    every message, outbound and inbound, as JSON
    GET  /_fake/callbacks   every webhook the fake posted and what the service answered
    POST /_fake/inbound     {"from", "body", ["to"], ["message_sid"]}: a signed inbound SMS
                            to ``<webhook_url>/webhooks/twilio/sms``; returns the answer
    POST /_fake/config      fault modes: {"fail_status", "hang_seconds", "fail_numbers",
                            "callback_delay_seconds", "webhook_url"} (fields optional)
    POST /_fake/reset       forget messages, callbacks and fault modes
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import uuid
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from friction.dialogue.templates import sms_segments
from friction.dialogue.twilio_signature import SIGNATURE_HEADER, sign

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "DEFAULT_PHONE_NUMBER",
    "FAKE_TWILIO",
    "FakeConfig",
    "FakeTwilio",
    "build_fake_twilio_app",
    "start_fake_twilio",
]

logger = logging.getLogger(__name__)

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
"""Account SID the fake accepts unless told otherwise (not a real account)."""
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"
"""Auth token the fake checks and signs webhooks with unless told otherwise."""
DEFAULT_PHONE_NUMBER = "+15005550006"
"""The fake's own number: Twilio's magic "valid sender" test number."""
INBOUND_PATH = "/webhooks/twilio/sms"
"""Where, under the service's webhook URL, inbound SMS are delivered."""
API_VERSION = "2010-04-01"


class FakeConfig(BaseModel):
    """Run-time behaviour of the fake; every field can be changed by ``POST /_fake/config``."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    fail_status: int | None = Field(None, ge=400, le=599)
    """Answer every Messages.json POST with this HTTP status (e.g. 500, 429) and no send."""
    hang_seconds: float = Field(0.0, ge=0.0, le=3600.0)
    """Wait this long before answering a Messages.json POST (a slow or hung Twilio)."""
    fail_numbers: list[str] = []
    """Numbers whose messages are accepted but then reported ``failed`` by callback."""
    callback_delay_seconds: float = Field(0.05, ge=0.0, le=60.0)
    """Pause before each status callback, as the carrier would take."""
    webhook_url: str | None = None
    """Base URL of the friction service (inbound SMS go to ``<it>/webhooks/twilio/sms``)."""


class InboundRequest(BaseModel):
    """Body of ``POST /_fake/inbound``: the SMS a customer sends."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from", min_length=1)
    body: str
    to: str | None = None
    message_sid: str | None = None
    """Reuse a MessageSid, to test that the service ignores replays."""


@dataclass(eq=False)
class FakeTwilio:
    """State of one fake Twilio: credentials, fault modes and what it has seen."""

    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = DEFAULT_AUTH_TOKEN
    phone_number: str = DEFAULT_PHONE_NUMBER
    config: FakeConfig = field(default_factory=FakeConfig)
    messages: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    session: aiohttp.ClientSession | None = None

    def message(self, sid: str) -> dict[str, Any] | None:
        """The recorded message with this sid."""
        return next((m for m in self.messages if m["sid"] == sid), None)

    async def post_signed(self, kind: str, url: str, form: dict[str, str]) -> tuple[int, str]:
        """POST a form signed as Twilio would; record it; return the service's answer."""
        if self.session is None:
            raise RuntimeError("fake Twilio is not running")
        headers = {SIGNATURE_HEADER: sign(url, form, self.auth_token)}
        record: dict[str, Any] = {"kind": kind, "url": url, "params": form}
        self.callbacks.append(record)
        try:
            async with self.session.post(url, data=form, headers=headers) as response:
                record["status"], text = response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError) as error:
            record["status"], record["error"] = None, type(error).__name__
            raise
        return response.status, text


FAKE_TWILIO = web.AppKey("fake_twilio", FakeTwilio)
"""Where the app keeps its ``FakeTwilio`` (tests may read it directly)."""


def _twilio_error(status: int, code: int, message: str) -> web.Response:
    """An error body shaped like Twilio's (``code``, ``message``, ``more_info``, ``status``)."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


def _authorized(request: web.Request, fake: FakeTwilio) -> bool:
    """HTTP basic auth with the fake's SID and token, and the SID in the path matching."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except ValueError:
        return False
    expected = f"{fake.account_sid}:{fake.auth_token}".encode()
    same = hmac.compare_digest(decoded, expected)
    return scheme.lower() == "basic" and same and request.match_info["sid"] == fake.account_sid


def _new_message(
    fake: FakeTwilio, to: str, from_: str, body: str, direction: str
) -> dict[str, Any]:
    """A message resource as Twilio's API returns it (strings where Twilio sends strings)."""
    sid = "SM" + uuid.uuid4().hex
    now = format_datetime(datetime.now(UTC))
    uri = f"/{API_VERSION}/Accounts/{fake.account_sid}/Messages/{sid}"
    return {
        "sid": sid,
        "account_sid": fake.account_sid,
        "api_version": API_VERSION,
        "to": to,
        "from": from_,
        "body": body,
        "status": "queued" if direction == "outbound-api" else "received",
        "direction": direction,
        "num_segments": str(sms_segments(body)),
        "num_media": "0",
        "date_created": now,
        "date_updated": now,
        "date_sent": None,
        "error_code": None,
        "error_message": None,
        "messaging_service_sid": None,
        "price": None,
        "price_unit": "USD",
        "uri": uri + ".json",
        "subresource_uris": {"media": uri + "/Media.json"},
    }


async def _hang(fake: FakeTwilio) -> bool:
    """Sleep ``hang_seconds`` unless the fake shuts down first; True if it did."""
    try:
        await asyncio.wait_for(fake.closing.wait(), fake.config.hang_seconds)
    except TimeoutError:
        return False
    return True


async def create_message(request: web.Request) -> web.Response:
    """``POST /2010-04-01/Accounts/{sid}/Messages.json``: accept an outbound SMS."""
    fake = request.app[FAKE_TWILIO]
    if not _authorized(request, fake):
        return _twilio_error(401, 20003, "Authenticate")
    if fake.config.hang_seconds and await _hang(fake):
        return _twilio_error(503, 20503, "Service Unavailable")
    if fake.config.fail_status is not None:
        return _twilio_error(fake.config.fail_status, 20500, "Internal Server Error")
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    if not form.get("To"):
        return _twilio_error(400, 21604, "A 'To' phone number is required.")
    if not form.get("Body"):
        return _twilio_error(400, 21602, "Message body is required.")
    if not form.get("From"):
        return _twilio_error(400, 21603, "A 'From' phone number is required.")
    message = _new_message(fake, form["To"], form["From"], form["Body"], "outbound-api")
    fake.messages.append(message)
    if callback := form.get("StatusCallback"):
        _spawn(fake, _report_status(fake, message["sid"], callback))
    logger.info("fake twilio accepted %s (%s segments)", message["sid"], message["num_segments"])
    return web.json_response(message, status=201)


def _spawn(fake: FakeTwilio, coro: Coroutine[Any, Any, None]) -> None:
    """Run coro in the background, tracked so shutdown can cancel it."""
    task: asyncio.Task[None] = asyncio.create_task(coro)
    fake.tasks.add(task)
    task.add_done_callback(fake.tasks.discard)


async def _report_status(fake: FakeTwilio, sid: str, url: str) -> None:
    """Send the status callbacks a carrier would cause, signed like Twilio's."""
    message = fake.message(sid)
    if message is None:
        return
    failing = message["to"] in fake.config.fail_numbers
    for status in ("failed",) if failing else ("sent", "delivered"):
        await asyncio.sleep(fake.config.callback_delay_seconds)
        message["status"] = status
        message["date_updated"] = format_datetime(datetime.now(UTC))
        form = {
            "AccountSid": fake.account_sid,
            "ApiVersion": API_VERSION,
            "From": message["from"],
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message["to"],
        }
        if status == "failed":
            # 30008 "Unknown error": the carrier gave no reason, the usual case.
            form["ErrorCode"] = message["error_code"] = "30008"
        try:
            await fake.post_signed("status", url, form)
        except (aiohttp.ClientError, TimeoutError):
            logger.warning("fake twilio: status callback for %s not delivered", sid)


def _inbound_form(fake: FakeTwilio, message: dict[str, Any]) -> dict[str, str]:
    """The form fields Twilio posts to a number's messaging webhook."""
    return {
        "ToCountry": "US",
        "ToState": "",
        "SmsMessageSid": message["sid"],
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": message["sid"],
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": message["body"],
        "FromCountry": "",
        "To": message["to"],
        "ToZip": "",
        "NumSegments": message["num_segments"],
        "MessageSid": message["sid"],
        "AccountSid": fake.account_sid,
        "From": message["from"],
        "ApiVersion": API_VERSION,
    }


async def inject_inbound(request: web.Request) -> web.Response:
    """``POST /_fake/inbound``: deliver a customer's SMS to the service, signed."""
    fake = request.app[FAKE_TWILIO]
    if not fake.config.webhook_url:
        raise web.HTTPConflict(
            text="no webhook URL: start with --webhook-url or POST /_fake/config"
        )
    try:
        sms = InboundRequest.model_validate(await request.json())
    except (ValueError, ValidationError) as error:
        raise web.HTTPBadRequest(text=f"bad inbound request: {error}") from None
    message = _new_message(fake, sms.to or fake.phone_number, sms.from_, sms.body, "inbound")
    message["sid"] = sms.message_sid or message["sid"]
    fake.messages.append(message)
    url = fake.config.webhook_url.rstrip("/") + INBOUND_PATH
    try:
        status, text = await fake.post_signed("inbound", url, _inbound_form(fake, message))
    except (aiohttp.ClientError, TimeoutError) as error:
        raise web.HTTPBadGateway(text=f"service unreachable at {url}: {error!r}") from None
    return web.json_response({"message_sid": message["sid"], "status": status, "body": text})


async def update_config(request: web.Request) -> web.Response:
    """``POST /_fake/config``: change fault modes (only the fields given)."""
    fake = request.app[FAKE_TWILIO]
    try:
        changes = await request.json()
        fake.config = FakeConfig.model_validate(fake.config.model_dump() | dict(changes))
    except (ValueError, TypeError, ValidationError) as error:
        raise web.HTTPBadRequest(text=f"bad config: {error}") from None
    return web.json_response(fake.config.model_dump())


async def reset(request: web.Request) -> web.Response:
    """``POST /_fake/reset``: forget everything but credentials and webhook URL."""
    fake = request.app[FAKE_TWILIO]
    fake.messages.clear()
    fake.callbacks.clear()
    fake.config = FakeConfig(webhook_url=fake.config.webhook_url)
    return web.json_response({"ok": True})


async def list_messages(request: web.Request) -> web.Response:
    """``GET /_fake/messages``: every message the fake has seen, oldest first."""
    return web.json_response(request.app[FAKE_TWILIO].messages)


async def list_callbacks(request: web.Request) -> web.Response:
    """``GET /_fake/callbacks``: every webhook posted and the status it got."""
    return web.json_response(request.app[FAKE_TWILIO].callbacks)


async def _client_session(app: web.Application) -> AsyncIterator[None]:
    """Own the outgoing HTTP session and the background callbacks for the app's life."""
    fake = app[FAKE_TWILIO]
    # Twilio gives a webhook 15 s; the fake is no more patient.
    fake.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
    yield
    for task in list(fake.tasks):
        task.cancel()
    await asyncio.gather(*fake.tasks, return_exceptions=True)
    await fake.session.close()
    fake.session = None


async def _release_hung_requests(app: web.Application) -> None:
    """Wake handlers that simulate a hang, so shutdown does not wait for them."""
    app[FAKE_TWILIO].closing.set()


def build_fake_twilio_app(fake: FakeTwilio | None = None) -> web.Application:
    """The fake as an aiohttp application (run it with ``web.run_app`` or a runner)."""
    app = web.Application()
    app[FAKE_TWILIO] = fake or FakeTwilio()
    app.cleanup_ctx.append(_client_session)
    app.on_shutdown.append(_release_hung_requests)
    app.router.add_post(f"/{API_VERSION}/Accounts/{{sid}}/Messages.json", create_message)
    app.router.add_get("/_fake/messages", list_messages)
    app.router.add_get("/_fake/callbacks", list_callbacks)
    app.router.add_post("/_fake/inbound", inject_inbound)
    app.router.add_post("/_fake/config", update_config)
    app.router.add_post("/_fake/reset", reset)
    return app


async def start_fake_twilio(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    fake: FakeTwilio | None = None,
) -> tuple[web.AppRunner, str]:
    """Serve a fake Twilio in this event loop; returns its runner and base URL.

    ``port=0`` picks a free port. Stop it with ``await runner.cleanup()``.
    """
    runner = web.AppRunner(build_fake_twilio_app(fake), shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{bound_host}:{bound_port}"
