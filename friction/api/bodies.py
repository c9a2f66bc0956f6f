"""Reading request bodies: JSON, then the card-data guard, then pydantic validation."""

from __future__ import annotations

from typing import TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from friction.api.carddata import card_data_fields
from friction.errors import CardDataRejected, InvalidInput

M = TypeVar("M", bound=BaseModel)


async def read_json(request: web.Request) -> object:
    """The parsed JSON body, or a 4xx saying what is wrong with it."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType()
    raw = await request.read()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"body is not valid JSON: {error.msg} at position {error.pos}") from None


async def parse_body(request: web.Request, model: type[M]) -> M:
    """Validate a body against ``model``; card data anywhere rejects it unseen."""
    return validate(await read_json(request), model)


def validate(data: object, model: type[M]) -> M:
    """Guard then validate already-parsed JSON; errors name fields but never echo values."""
    if fields := card_data_fields(data):
        raise CardDataRejected(
            "card data is not accepted: send the gateway's instrument token "
            "(and at most bin/last4), never a card number, CVV or track data",
            fields=fields,
        )
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
