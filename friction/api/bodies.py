"""Reading request bodies: JSON, then the card-data guard, then pydantic validation.

A body aiohttp cannot decode (a broken ``Content-Encoding``, chunk framing) is the client's
mistake: a 400 and one log line naming the error's kind, never a 500 with a traceback (its
message may quote the bytes).
"""

from __future__ import annotations

import logging
from typing import TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from friction.api.carddata import card_data_fields, may_hold_card_data
from friction.errors import CardDataRejected, InvalidInput

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger(__name__)


async def read_body(request: web.Request) -> bytes:
    """The raw JSON body (already read, or refused, by ``api.middleware.body_middleware``), or
    415 for another content type."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType()
    return await request.read()


async def parse_body(request: web.Request, model: type[M]) -> M:
    """Validate a body against ``model``; card data anywhere rejects it unseen."""
    return validate(await read_body(request), model)


def validate(raw: bytes, model: type[M]) -> M:
    """Parse, guard, validate; errors name fields but never echo values."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"body is not valid JSON: {error.msg} at position {error.pos}") from None
    if may_hold_card_data(raw) and (fields := card_data_fields(data)):
        raise CardDataRejected(
            "card data is not accepted: send the gateway's instrument token "
            "(and at most bin/last4), never a card number, CVV or track data",
            fields=fields,
        )
    return _checked(model, data)


def validate_query(request: web.Request, model: type[M]) -> M:
    """Query parameters against ``model`` (each given once), with the same error shape."""
    return _checked(model, dict(request.query))


def _checked(model: type[M], data: object) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [
            (".".join(str(p) for p in e["loc"]) or "(body)", e["msg"])
            for e in error.errors(include_input=False, include_url=False)
        ]
        message = "; ".join(f"{path}: {msg}" for path, msg in problems)
        raise InvalidInput(
            f"invalid {model.__name__}: {message}", fields=[p for p, _ in problems]
        ) from None
