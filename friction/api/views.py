"""HTTP handlers: translate requests to calls on the core and results to JSON."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from aiohttp import web
from pydantic import BaseModel

from friction.api.auth import customer_of_request, session_of_request, tenant_of_request
from friction.api.bodies import parse_body, read_body, validate
from friction.api.keys import (
    ENGINE,
    METRICS,
    OPENAPI,
    PROMPTS,
    RELAY,
    REPLIES,
    SCORER,
    SETTINGS,
    STORE,
)
from friction.api.schemas import (
    AnswerIn,
    ErasureOut,
    LabelIn,
    PreferencesIn,
    ReplyIn,
    SessionIn,
    SessionOut,
)
from friction.api.sse import stream_prompts
from friction.domain.payment import Payment
from friction.domain.privacy import mask_phone
from friction.domain.records import Preferences
from friction.domain.tenancy import scoped
from friction.errors import InvalidInput
from friction.service import erasure
from friction.service.sessions import open_session as new_session
from friction.settings import Settings

_IDENTIFIER = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")


def _json(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=model.model_dump_json(), content_type="application/json"
    )


async def score(request: web.Request) -> web.Response:
    """POST /v1/score — decide on a payment within the request."""
    payment = validate(await read_body(request), Payment)
    check_occurred_at(payment.occurred_at, request.app[SETTINGS], datetime.now(UTC))
    body_hash = hashlib.sha256(payment.model_dump_json().encode()).hexdigest()
    text = await request.app[SCORER].score(payment, body_hash, tenant_of_request(request))
    return web.Response(text=text, content_type="application/json")


def check_occurred_at(occurred_at: datetime, settings: Settings, now: datetime) -> None:
    """422 unless ``occurred_at`` lies in the window the settings allow around ``now``."""
    earliest = now - timedelta(days=settings.occurred_at_max_age_days)
    latest = now + timedelta(seconds=settings.occurred_at_max_ahead_seconds)
    if not earliest <= occurred_at <= latest:
        raise InvalidInput(
            f"occurred_at must lie between {settings.occurred_at_max_age_days:g} days before and "
            f"{settings.occurred_at_max_ahead_seconds:g} s after the server's clock "
            f"({now:%Y-%m-%dT%H:%M:%SZ}; FRICTION_OCCURRED_AT_MAX_AGE_DAYS, "
            "FRICTION_OCCURRED_AT_MAX_AHEAD_SECONDS)",
            fields=["occurred_at"],
        )


MAX_WAIT_SECONDS = 30.0


async def payment_status(request: web.Request) -> web.Response:
    """GET /v1/payments/{id}[?wait=N] — the decision and verdict; waits up to N s for one."""
    raw_wait = request.query.get("wait", "0")
    try:
        wait = float(raw_wait)
    except ValueError:
        raise InvalidInput("wait must be a number of seconds", fields=["wait"]) from None
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise InvalidInput(f"wait must be between 0 and {MAX_WAIT_SECONDS:.0f}", fields=["wait"])
    key = scoped(tenant_of_request(request), request.match_info["payment_id"])
    status = await request.app[ENGINE].status(key, wait)
    return _json(status)


async def add_label(request: web.Request) -> web.Response:
    """POST /v1/payments/{id}/labels — a chargeback, fraud report or analyst verdict."""
    body = await parse_body(request, LabelIn)
    key = scoped(tenant_of_request(request), request.match_info["payment_id"])
    status = await request.app[ENGINE].record_label(key, body.label, body.source)
    return _json(status, status=202)


async def open_session(request: web.Request) -> web.Response:
    """POST /v1/customers/{id}/sessions — a short-lived credential for that customer's app."""
    body = await parse_body(request, SessionIn) if request.body_exists else SessionIn()
    customer_id = validate_identifier(request.match_info["customer_id"], "customer_id")
    longest = request.app[SETTINGS].session_ttl_seconds
    ttl = min(body.ttl_seconds or longest, longest)
    key = scoped(tenant_of_request(request), customer_id)
    token, session = await new_session(request.app[STORE], key, ttl, datetime.now(UTC))
    return _json(SessionOut(token=token, customer_id=customer_id, expires_at=session.expires_at))


async def prompts(request: web.Request) -> web.StreamResponse:
    """GET /v1/customers/{id}/prompts — open questions; a live stream for text/event-stream."""
    prompts = request.app[PROMPTS]
    customer = customer_of_request(request, request.match_info["customer_id"])
    if "text/event-stream" in request.headers.get("Accept", ""):
        return await stream_prompts(request, prompts, customer)
    found = await prompts.prompts_for(customer)
    text = "[" + ",".join(p.model_dump_json() for p in found) + "]"
    return web.Response(text=text, content_type="application/json")


async def preferences(request: web.Request) -> web.Response:
    """PUT /v1/customers/{id}/preferences — channel order and language."""
    body = await parse_body(request, PreferencesIn)
    customer = customer_of_request(request, request.match_info["customer_id"])
    wanted = Preferences(channels=list(body.channels), locale=body.locale)
    stored = await request.app[ENGINE].set_preferences(customer, wanted)
    return _json(stored)


async def answer(request: web.Request) -> web.Response:
    """POST /v1/dialogues/{id}/answer — the customer's in-app answer."""
    body = await parse_body(request, AnswerIn)
    session = session_of_request(request)
    status = await request.app[PROMPTS].answer(
        request.match_info["dialogue_id"],
        body.token,
        body.answer,
        None if session is None else session.customer_id,
    )
    return _json(status)


async def console_reply(request: web.Request) -> web.Response:
    """POST /v1/dev/sms — simulate an SMS reply on the console channel (development only)."""
    body = await parse_body(request, ReplyIn)
    reply = await request.app[REPLIES].reply(body.phone, body.body)
    if reply:
        print(f"[sms → {mask_phone(body.phone)}] {reply}", flush=True)
    return web.json_response({"reply": reply})


async def erase_customer(request: web.Request) -> web.Response:
    """DELETE /v1/customers/{id} — erase the customer's personal data (GDPR Art. 17)."""
    customer_id = validate_identifier(request.match_info["customer_id"], "customer_id")
    key = scoped(tenant_of_request(request), customer_id)
    app = request.app
    event = await erasure.erase_customer(
        app[SETTINGS], app[STORE], app[ENGINE], key, app[RELAY].wake
    )
    body = ErasureOut(
        customer=event.customer_id,
        payments=event.payments,
        dialogues=event.dialogues,
        reviews=event.reviews,
        deleted=event.deleted,
        erased_at=event.at,
    )
    return _json(body)


def validate_identifier(value: str, field: str) -> str:
    """A path id in the shape bodies use (no wildcards or control characters reach the store)."""
    if not _IDENTIFIER.fullmatch(value):
        raise InvalidInput(f"{field} must be 1-64 of A-Z a-z 0-9 _ . : -", fields=[field])
    return value


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the store answers and a model is loaded (and which challenger shadows it)."""
    await request.app[STORE].get_payment("readyz-probe")
    scorer = request.app[SCORER]
    ready = {"status": "ready", "model": scorer.model_version, "shadow": scorer.shadow_version}
    return web.json_response(ready)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition."""
    return web.Response(body=request.app[METRICS].render(), content_type="text/plain")


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of this API."""
    return web.json_response(request.app[OPENAPI])
