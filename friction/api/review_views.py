"""HTTP handlers of the review queue (``/v1/reviews``): parse, call the desk, answer JSON."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from friction.api.auth import tenant_of_request
from friction.api.bodies import parse_body, validate_query
from friction.errors import NotFound
from friction.keys import REVIEWS, STORE
from friction.review.schemas import AssignIn, ResolveIn, ReviewQuery
from friction.tenancy import tenant_of


def _json(model: BaseModel) -> web.Response:
    return web.Response(text=model.model_dump_json(), content_type="application/json")


async def _owned(request: web.Request) -> str:
    """The review id in the path, if the item belongs to the caller's tenant (else 404)."""
    review_id = request.match_info["review_id"]
    item = await request.app[STORE].get_review(review_id)
    if item is None or tenant_of(item.payment_id) != tenant_of_request(request):
        raise NotFound(f"no review {review_id}")
    return review_id


async def list_reviews(request: web.Request) -> web.Response:
    """GET /v1/reviews — items oldest first; ``status``/``assignee`` filters, cursor paging."""
    query = validate_query(request, ReviewQuery)
    page = await request.app[REVIEWS].page(query)
    tenant = tenant_of_request(request)
    mine = [item for item in page.items if tenant_of(item.payment_id) == tenant]
    return _json(page.model_copy(update={"items": mine}))


async def show_review(request: web.Request) -> web.Response:
    """GET /v1/reviews/{id} — the item, its payment, transcript and customer history."""
    return _json(await request.app[REVIEWS].detail(await _owned(request)))


async def assign_review(request: web.Request) -> web.Response:
    """POST /v1/reviews/{id}/assign — an analyst takes the item."""
    body = await parse_body(request, AssignIn)
    return _json(await request.app[REVIEWS].assign(await _owned(request), body))


async def resolve_review(request: web.Request) -> web.Response:
    """POST /v1/reviews/{id}/resolve — verdict, label and note; the gateway is told."""
    body = await parse_body(request, ResolveIn)
    return _json(await request.app[REVIEWS].resolve(await _owned(request), body))
