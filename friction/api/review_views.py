"""HTTP handlers of the review queue (``/v1/reviews``) and of the customer's contest path
(``/v1/customers/{id}/notices``, ``…/contests``): parse, call the desk, answer JSON.

The desk looks items up under the caller's tenant: another tenant's item is simply
not there (404), and a page or its cursor holds the caller's items only. A customer
session reaches only its own customer's payments (403 for another customer's path).
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from pydantic import BaseModel

from friction.api.auth import customer_of_request, tenant_of_request
from friction.api.bodies import parse_body, validate_query
from friction.api.keys import REVIEWS, SETTINGS
from friction.domain.tenancy import scoped
from friction.review.schemas import AssignIn, ContestIn, ResolveIn, ReviewQuery


def _json(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=model.model_dump_json(), content_type="application/json"
    )


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


async def notices(request: web.Request) -> web.Response:
    """GET /v1/customers/{id}/notices — the customer's latest declined or blocked payment."""
    customer = customer_of_request(request, request.match_info["customer_id"])
    return _json(await request.app[REVIEWS].notices(customer, datetime.now(UTC)))


async def contest(request: web.Request) -> web.Response:
    """POST /v1/customers/{id}/contests — a person looks again at a declined or blocked
    payment of this customer: 201 with the review item, 200 when it was open already."""
    body = await parse_body(request, ContestIn)
    customer = customer_of_request(request, request.match_info["customer_id"])
    payment_key = scoped(tenant_of_request(request), body.payment_id)
    days = request.app[SETTINGS].review_contest_days
    found = await request.app[REVIEWS].contest_in_app(
        customer, payment_key, days, datetime.now(UTC)
    )
    return _json(found, status=201 if found.opened else 200)
