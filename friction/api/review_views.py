"""HTTP handlers of the review queue (``/v1/reviews``): parse, call the desk, answer JSON.

The desk looks items up under the caller's tenant: another tenant's item is simply
not there (404), and a page or its cursor holds the caller's items only.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from friction.api.auth import tenant_of_request
from friction.api.bodies import parse_body, validate_query
from friction.api.keys import REVIEWS
from friction.review.schemas import AssignIn, ResolveIn, ReviewQuery


def _json(model: BaseModel) -> web.Response:
    return web.Response(text=model.model_dump_json(), content_type="application/json")


async def list_reviews(request: web.Request) -> web.Response:
    """GET /v1/reviews — items oldest first; ``status``/``assignee`` filters, cursor paging."""
    query = validate_query(request, ReviewQuery)
    return _json(await request.app[REVIEWS].page(tenant_of_request(request), query))


async def show_review(request: web.Request) -> web.Response:
    """GET /v1/reviews/{id} — the item, its payment, transcript and customer history."""
    desk, item = request.app[REVIEWS], request.match_info["review_id"]
    return _json(await desk.detail(tenant_of_request(request), item))


async def assign_review(request: web.Request) -> web.Response:
    """POST /v1/reviews/{id}/assign — an analyst takes the item."""
    body = await parse_body(request, AssignIn)
    desk, item = request.app[REVIEWS], request.match_info["review_id"]
    return _json(await desk.assign(tenant_of_request(request), item, body))


async def resolve_review(request: web.Request) -> web.Response:
    """POST /v1/reviews/{id}/resolve — verdict, label and note; the gateway is told."""
    body = await parse_body(request, ResolveIn)
    desk, item = request.app[REVIEWS], request.match_info["review_id"]
    return _json(await desk.resolve(tenant_of_request(request), item, body))
