"""HTTP handlers of the review queue (``/v1/reviews``): parse, call the desk, answer JSON."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from friction.api.bodies import parse_body, validate_query
from friction.keys import REVIEWS
from friction.review.schemas import AssignIn, ResolveIn, ReviewQuery


def _json(model: BaseModel) -> web.Response:
    return web.Response(text=model.model_dump_json(), content_type="application/json")


async def list_reviews(request: web.Request) -> web.Response:
    """GET /v1/reviews — items oldest first; ``status``/``assignee`` filters, cursor paging."""
    query = validate_query(request, ReviewQuery)
    return _json(await request.app[REVIEWS].page(query))


async def show_review(request: web.Request) -> web.Response:
    """GET /v1/reviews/{id} — the item, its payment, transcript and customer history."""
    return _json(await request.app[REVIEWS].detail(request.match_info["review_id"]))


async def assign_review(request: web.Request) -> web.Response:
    """POST /v1/reviews/{id}/assign — an analyst takes the item."""
    body = await parse_body(request, AssignIn)
    return _json(await request.app[REVIEWS].assign(request.match_info["review_id"], body))


async def resolve_review(request: web.Request) -> web.Response:
    """POST /v1/reviews/{id}/resolve — verdict, label and note; the gateway is told."""
    body = await parse_body(request, ResolveIn)
    return _json(await request.app[REVIEWS].resolve(request.match_info["review_id"], body))
