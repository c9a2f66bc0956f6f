"""Tenants authenticate, see only their own payments and reviews, and are rate limited."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any

from friction.settings import Settings
from tests.conftest import CANONICAL, PRODUCTION_SECRETS, Client

StartApp = Callable[[Settings], Awaitable[Client]]
KEYS = {"acme": "key-acme-0123456789", "globex": "key-globex-9876543210"}


def tenanted(make_settings: Callable[..., Settings], **over: Any) -> Settings:
    """Two tenants with keys: production mode (own secrets, no console channel)."""
    values = {"api_keys": KEYS, "default_channels": ["in_app"], **PRODUCTION_SECRETS}
    return make_settings(**(values | over))


def auth(tenant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[tenant]}"}


def body(**changes: Any) -> dict[str, Any]:
    payment = copy.deepcopy(CANONICAL)
    payment.update(changes)
    return payment


async def test_gateway_routes_need_a_valid_key(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    client = await start_app(tenanted(make_settings))
    missing = await client.post("/v1/score", json=body())
    assert missing.status == 401
    assert "Bearer" in (await missing.json())["message"]
    wrong = await client.post("/v1/score", json=body(), headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    assert (await client.get("/v1/reviews")).status == 401
    ok = await client.post("/v1/score", json=body(), headers=auth("acme"))
    assert ok.status == 200
    # ops routes are open; customer routes take the customer's session, not a gateway key
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/v1/customers/cus_42/prompts")).status == 401
    prompts = await client.get("/v1/customers/cus_42/prompts", headers=auth("acme"))
    assert prompts.status == 401


async def test_a_tenant_never_sees_another_tenants_payments_or_reviews(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    client = await start_app(tenanted(make_settings, challenge_at=0.0, friction_budget=0))
    first = await client.post("/v1/score", json=body(), headers=auth("acme"))
    assert (await first.json())["decision"] == "review"  # no budget: goes to a person
    # the same payment id at another tenant is another payment, not a 409
    other = await client.post("/v1/score", json=body(amount={"value": 1, "currency": "EUR"}),
                              headers=auth("globex"))  # fmt: skip
    assert other.status == 200

    mine = await (await client.get("/v1/payments/pay_0001", headers=auth("acme"))).json()
    theirs = await (await client.get("/v1/payments/pay_0001", headers=auth("globex"))).json()
    assert mine["decided_at"] != theirs["decided_at"]  # two payments, one id each
    label = await client.post(
        "/v1/payments/pay_0001/labels",
        json={"label": "fraud", "source": "chargeback"},
        headers=auth("globex"),
    )
    assert label.status == 202
    acme_view = await (await client.get("/v1/payments/pay_0001", headers=auth("acme"))).json()
    assert acme_view["verdict"] == "review"  # globex's label touched only globex's payment

    acme_reviews = await (await client.get("/v1/reviews", headers=auth("acme"))).json()
    globex_reviews = await (await client.get("/v1/reviews", headers=auth("globex"))).json()
    assert len(acme_reviews["items"]) == 1 and len(globex_reviews["items"]) == 1
    # each tenant's item is named after its own payment id: the same name, two items
    assert acme_reviews["items"][0]["id"] == globex_reviews["items"][0]["id"] == "rev_pay_0001"
    mine = await client.post(
        "/v1/reviews/rev_pay_0001/resolve",
        json={"analyst": "mallory", "verdict": "released"},
        headers=auth("globex"),
    )
    assert mine.status == 200  # globex resolved its own item...
    acme_item = await (await client.get("/v1/reviews/rev_pay_0001", headers=auth("acme"))).json()
    assert acme_item["review"]["status"] == "open"  # ...and acme's is untouched
    acme_after = await (await client.get("/v1/payments/pay_0001", headers=auth("acme"))).json()
    assert acme_after["verdict"] == "review"
    unknown = await client.get("/v1/payments/pay_9999", headers=auth("acme"))
    assert unknown.status == 404


async def test_each_tenant_has_its_own_rate_limit(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    # a refill every 100 s: however slow this machine is, the burst is all there is
    client = await start_app(tenanted(make_settings, tenant_rate_per_second=0.01, tenant_burst=3))
    statuses = []
    for n in range(5):
        response = await client.post(
            "/v1/score", json=body(payment_id=f"pay_rate_{n}"), headers=auth("acme")
        )
        statuses.append(response.status)
        if response.status == 429:
            assert int(response.headers["Retry-After"]) >= 1
    assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
    other = await client.post(
        "/v1/score", json=body(payment_id="pay_rate_x"), headers=auth("globex")
    )
    assert other.status == 200
