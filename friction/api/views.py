"""HTTP handlers: translate requests to calls on the core and results to JSON."""

from __future__ import annotations

import hashlib

from aiohttp import web
from pydantic import BaseModel

from friction.api.bodies import parse_body, read_json, validate
from friction.api.schemas import AnswerIn, LabelIn, Payment, ReplyIn
from friction.errors import NotFound
from friction.keys import ENGINE, METRICS, OPENAPI, SCORER, STORE


def _json(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=model.model_dump_json(), content_type="application/json"
    )


async def score(request: web.Request) -> web.Response:
    """POST /v1/score — decide on a payment within the request."""
    payment = validate(await read_json(request), Payment)
    body_hash = hashlib.sha256(payment.model_dump_json().encode()).hexdigest()
    text = await request.app[SCORER].score(payment, body_hash)
    return web.Response(text=text, content_type="application/json")


async def payment_status(request: web.Request) -> web.Response:
    """GET /v1/payments/{id} — the decision and the verdict so far."""
    payment_id = request.match_info["payment_id"]
    record = await request.app[STORE].get_payment(payment_id)
    if record is None:
        raise NotFound(f"no payment {payment_id}")
    return _json(record.status)


async def add_label(request: web.Request) -> web.Response:
    """POST /v1/payments/{id}/labels — a chargeback, fraud report or analyst verdict."""
    body = await parse_body(request, LabelIn)
    status = await request.app[ENGINE].record_label(
        request.match_info["payment_id"], body.label, body.source
    )
    return _json(status, status=202)


async def prompts(request: web.Request) -> web.Response:
    """GET /v1/customers/{id}/prompts — open questions for the customer's app."""
    found = await request.app[ENGINE].prompts_for(request.match_info["customer_id"])
    text = "[" + ",".join(p.model_dump_json() for p in found) + "]"
    return web.Response(text=text, content_type="application/json")


async def answer(request: web.Request) -> web.Response:
    """POST /v1/dialogues/{id}/answer — the customer's in-app answer."""
    body = await parse_body(request, AnswerIn)
    status = await request.app[ENGINE].answer(
        request.match_info["dialogue_id"], body.token, body.answer
    )
    return _json(status)


async def console_reply(request: web.Request) -> web.Response:
    """POST /v1/dev/sms — simulate an SMS reply on the console channel."""
    body = await parse_body(request, ReplyIn)
    intent = await request.app[ENGINE].reply(body.phone, body.body)
    return web.json_response({"intent": intent})


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the store answers and a model is loaded."""
    await request.app[STORE].get_payment("readyz-probe")
    return web.json_response({"status": "ready", "model": request.app[SCORER].model_version})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition."""
    return web.Response(body=request.app[METRICS].render(), content_type="text/plain")


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of this API."""
    return web.json_response(request.app[OPENAPI])
