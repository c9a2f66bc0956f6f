"""Two tenants that share payment ids, customer ids and phones, on every customer route.

Issue 14's findings, each a test here, on the embedded store and on Redis: customer
routes answer only the customer's own session; a verdict (answer, expiry, review)
lands on the tenant's payment, its label names one payment, its webhook names the
tenant; customers, marks, budgets, preferences, erasure and review cursors never
cross tenants; development endpoints and default secrets do not exist in production.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp import web
from redis.asyncio import Redis

from friction.api.keys import STORE
from friction.settings import Settings
from tests.conftest import CANONICAL, PRODUCTION_SECRETS, Client
from tests.dialogues import eventually, label_events
from tests.servers import ServerProcess, receiver

StartApp = Callable[..., Awaitable[Client]]
KEYS = {"acme": "key-acme-0123456789", "globex": "key-globex-9876543210"}
pytestmark = pytest.mark.timeout(90)


def gateway(tenant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[tenant]}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def body(payment_id: str = "pay_0001", customer: str = "cus_42", **changes: Any) -> dict[str, Any]:
    payment = copy.deepcopy(CANONICAL)
    payment["payment_id"] = payment_id
    payment["customer"]["id"] = customer
    payment.update(changes)
    return payment


class Webhooks:
    """Each tenant's gateway endpoint: the verdicts it was told, by tenant."""

    def __init__(self) -> None:
        self.got: dict[str, list[dict[str, Any]]] = {"acme": [], "globex": []}
        self.urls: dict[str, str] = {}


@pytest.fixture
async def webhooks() -> AsyncIterator[Webhooks]:
    found = Webhooks()

    def keeper(tenant: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def keep(request: web.Request) -> web.Response:
            found.got[tenant].append(orjson.loads(await request.read()))
            return web.Response(status=204)

        return keep

    async with (
        receiver("/acme", keeper("acme")) as found.urls["acme"],
        receiver("/globex", keeper("globex")) as found.urls["globex"],
    ):
        yield found


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
async def tenants(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings], webhooks: Webhooks
) -> AsyncIterator[Callable[..., Settings]]:
    """Settings of a two-tenant service on each store (Redis: a flushed database of its own)."""
    store = "embedded"
    redis: Redis | None = None
    if request.param == "redis":
        server: ServerProcess = request.getfixturevalue("redis_server")
        store = f"redis://127.0.0.1:{server.port}/12"
        redis = Redis.from_url(store)
        await redis.flushdb()
    callbacks = {
        t: {"url": u, "secret": f"{t}-callback-secret-0123"} for t, u in webhooks.urls.items()
    }

    def make(**over: Any) -> Settings:
        values: dict[str, Any] = {
            "store": store, "api_keys": KEYS, "challenge_at": 0.0,
            "default_channels": ["in_app"], "gateway_callbacks": callbacks,
            **PRODUCTION_SECRETS,
        }  # fmt: skip
        return make_settings(**(values | over))

    yield make
    if redis is not None:
        await redis.flushdb()
        await redis.aclose()


async def score(client: Client, tenant: str, payment: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/score", json=payment, headers=gateway(tenant))
    scored: dict[str, Any] = await response.json()
    assert response.status == 200, scored
    return scored


async def session(client: Client, tenant: str, customer: str = "cus_42") -> str:
    response = await client.post(f"/v1/customers/{customer}/sessions", headers=gateway(tenant))
    made: dict[str, Any] = await response.json()
    assert response.status == 200, made
    assert made["customer_id"] == customer and made["token"].startswith("fcs_")
    return str(made["token"])


async def prompts(client: Client, token: str, customer: str = "cus_42") -> list[dict[str, Any]]:
    response = await client.get(f"/v1/customers/{customer}/prompts", headers=bearer(token))
    found: list[dict[str, Any]] = await response.json()
    assert response.status == 200, found
    return found


async def status_of(client: Client, tenant: str, payment_id: str = "pay_0001") -> dict[str, Any]:
    response = await client.get(f"/v1/payments/{payment_id}", headers=gateway(tenant))
    found: dict[str, Any] = await response.json()
    assert response.status == 200, found
    return found


async def both_challenged(client: Client) -> tuple[str, str]:
    """acme and globex each challenge their own pay_0001 of their own cus_42."""
    mine = await score(client, "acme", body())
    theirs = await score(client, "globex", body(amount={"value": 1200, "currency": "EUR"}))
    assert mine["decision"] == theirs["decision"] == "challenge"
    return mine["dialogue"]["id"], theirs["dialogue"]["id"]


async def test_only_the_customers_own_session_reads_and_answers_its_prompts(
    tenants: Callable[..., Settings], start_app: StartApp
) -> None:
    client = await start_app(tenants())
    acme_dialogue, globex_dialogue = await both_challenged(client)
    url = "/v1/customers/cus_42/prompts"
    assert (await client.get(url)).status == 401  # no credential: nothing, not even a count
    assert (await client.get(url, headers=gateway("acme"))).status == 401  # keys are not sessions
    assert (await client.get(url, headers=bearer("fcs_made_up_token"))).status == 401
    stream = {"Accept": "text/event-stream"}
    assert (await client.get(url, headers=stream)).status == 401
    someone_else = await session(client, "acme", "cus_43")
    forbidden = await client.get(url, headers=bearer(someone_else))
    assert forbidden.status == 403 and b"cus_42" not in await forbidden.read()

    acme = await session(client, "acme")
    [prompt] = await prompts(client, acme)
    assert (prompt["dialogue_id"], prompt["payment_id"]) == (acme_dialogue, "pay_0001")
    [their_prompt] = await prompts(client, await session(client, "globex"))
    assert their_prompt["dialogue_id"] == globex_dialogue
    async with client.get(url, headers=stream | bearer(acme)) as live:
        first = await live.content.readuntil(b"\n\n")
    assert acme_dialogue.encode() in first and globex_dialogue.encode() not in first

    answer_url = f"/v1/dialogues/{acme_dialogue}/answer"
    answer = {"token": prompt["token"], "answer": "yes"}
    assert (await client.post(answer_url, json=answer)).status == 401
    globex = await session(client, "globex")
    assert (await client.post(answer_url, json=answer, headers=bearer(globex))).status == 403
    wrong = await client.post(answer_url, json=answer, headers=bearer(someone_else))
    assert wrong.status == 403
    assert (await status_of(client, "acme"))["verdict"] == "pending"  # none of that counted

    released = await client.post(answer_url, json=answer, headers=bearer(acme))
    assert released.status == 200 and (await released.json())["verdict"] == "released"
    assert (await status_of(client, "acme"))["verdict"] == "released"
    assert (await status_of(client, "globex"))["verdict"] == "pending"
    assert await prompts(client, acme) == []


async def test_a_verdict_lands_on_the_tenants_payment_with_one_identity(
    tenants: Callable[..., Settings], start_app: StartApp, webhooks: Webhooks
) -> None:
    settings = tenants()
    client = await start_app(settings)
    acme_dialogue, _ = await both_challenged(client)
    acme = await session(client, "acme")
    [prompt] = await prompts(client, acme)
    await client.post(
        f"/v1/dialogues/{acme_dialogue}/answer",
        json={"token": prompt["token"], "answer": "no"},
        headers=bearer(acme),
    )
    assert (await status_of(client, "acme"))["verdict"] == "blocked"
    assert (await status_of(client, "globex"))["verdict"] == "pending"
    store = client.server.app[STORE]
    assert await store.get_payment("pay_0001") is None  # no stray record under the bare id

    async def told() -> bool:
        return bool(webhooks.got["acme"])

    await eventually(told)
    [notice] = webhooks.got["acme"]
    assert (notice["tenant"], notice["payment_id"], notice["verdict"]) == (
        "acme",
        "pay_0001",
        "blocked",
    )
    assert webhooks.got["globex"] == []
    await client.close()
    labels = [(e.payment_id, e.label) for e in label_events(settings.data_dir)]
    assert labels == [("acme/pay_0001", "fraud")]


async def test_expiry_and_review_verdicts_land_on_each_tenants_payment(
    tenants: Callable[..., Settings], start_app: StartApp, webhooks: Webhooks
) -> None:
    client = await start_app(tenants(dialogue_ttl_seconds=0.5, no_answer_verdict="review"))
    await both_challenged(client)
    for tenant in ("acme", "globex"):
        found = await client.get("/v1/payments/pay_0001?wait=30", headers=gateway(tenant))
        assert (await found.json())["verdict"] == "review"
    acme_queue = await (await client.get("/v1/reviews", headers=gateway("acme"))).json()
    [item] = acme_queue["items"]
    assert (item["id"], item["payment_id"], item["customer_id"]) == (
        "rev_pay_0001",
        "pay_0001",
        "cus_42",
    )
    resolve = {"analyst": "ana", "verdict": "released", "label": "genuine"}
    done = await client.post(
        "/v1/reviews/rev_pay_0001/resolve", json=resolve, headers=gateway("acme")
    )
    assert done.status == 200, await done.text()
    assert (await status_of(client, "acme"))["verdict"] == "released"
    assert (await status_of(client, "globex"))["verdict"] == "review"
    globex_item = await client.get("/v1/reviews/rev_pay_0001", headers=gateway("globex"))
    assert (await globex_item.json())["review"]["status"] == "open"

    async def told() -> bool:
        return any(n["verdict"] == "released" for n in webhooks.got["acme"])

    await eventually(told)
    assert all(n["tenant"] == "acme" for n in webhooks.got["acme"])
    assert all(n["verdict"] == "review" for n in webhooks.got["globex"])


async def test_customers_marks_budgets_and_preferences_are_per_tenant(
    tenants: Callable[..., Settings], start_app: StartApp
) -> None:
    client = await start_app(tenants(friction_budget=1))
    # globex spends its own cus_42's budget and changes its preferences...
    await score(client, "globex", body("pay_g1"))
    prefs = {"channels": ["sms"], "locale": "fr-FR"}
    changed = await client.put(
        "/v1/customers/cus_42/preferences", json=prefs, headers=gateway("globex")
    )
    assert changed.status == 200
    # ...acme's cus_42 is still asked, in the app, in English
    mine = await score(client, "acme", body("pay_a1"))
    assert mine["decision"] == "challenge" and mine["dialogue"]["channel"] == "in_app"
    assert mine["budget"]["used"] == 1
    acme = await session(client, "acme")
    [prompt] = await prompts(client, acme)
    assert prompt["text"].startswith("Did you just pay")
    # a customer's own session may set its own preferences, not another's
    mine_too = await client.put(
        "/v1/customers/cus_42/preferences", json={"locale": "es-ES"}, headers=bearer(acme)
    )
    assert mine_too.status == 200
    other = await client.put(
        "/v1/customers/cus_43/preferences", json={"locale": "es-ES"}, headers=bearer(acme)
    )
    assert other.status == 403

    # acme's customer confirms: acme's retry passes, globex's identical payment does not
    await client.post(
        f"/v1/dialogues/{prompt['dialogue_id']}/answer",
        json={"token": prompt["token"], "answer": "yes"},
        headers=bearer(acme),
    )
    retry = await score(client, "acme", body("pay_a2"))
    assert [r["code"] for r in retry["reasons"]][-1] == "CONFIRMED_RETRY"
    theirs = await score(client, "globex", body("pay_g2"))
    assert "CONFIRMED_RETRY" not in [r["code"] for r in theirs["reasons"]]
    assert "TRUSTED_PAYEE" not in [r["code"] for r in theirs["reasons"]]
    assert theirs["decision"] != "allow"  # globex's budget is spent: not asked, not trusted


async def test_erasure_and_review_cursors_stay_inside_the_tenant(
    tenants: Callable[..., Settings], start_app: StartApp
) -> None:
    client = await start_app(tenants(friction_budget=0))  # no budget: every payment to review
    for n in range(3):
        await score(client, "acme", body(f"pay_{n}"))
        await score(client, "globex", body(f"pay_{n}"))
    acme = await session(client, "acme")

    erased = await client.delete("/v1/customers/cus_42", headers=gateway("globex"))
    assert erased.status == 200 and (await erased.json())["payments"] == 3
    store = client.server.app[STORE]
    kept = await store.get_payment("acme/pay_0")
    assert kept is not None and kept.customer_id == "acme/cus_42"  # acme's customer untouched
    gone = await store.get_payment("globex/pay_0")
    assert gone is not None and gone.customer_id.startswith("anon_")
    assert (await client.get("/v1/customers/cus_42/prompts", headers=bearer(acme))).status == 200

    page = await (await client.get("/v1/reviews?limit=1", headers=gateway("acme"))).json()
    cursor = page["next"]
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    assert b"globex" not in decoded and [i["id"] for i in page["items"]] == ["rev_pay_0"]
    seen = [i["id"] for i in page["items"]]
    while cursor:
        more = await client.get("/v1/reviews", params={"limit": "1", "after": cursor},
                                headers=gateway("acme"))  # fmt: skip
        page = await more.json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next"]
    assert seen == ["rev_pay_0", "rev_pay_1", "rev_pay_2"]  # every page full, all acme's


async def test_no_development_endpoint_or_default_secret_in_production(
    tenants: Callable[..., Settings], start_app: StartApp
) -> None:
    client = await start_app(tenants())
    await both_challenged(client)
    texted = await client.post("/v1/dev/sms", json={"phone": "+447700900123", "body": "NO"})
    assert texted.status == 404
    assert (await status_of(client, "acme"))["verdict"] == "pending"
    with pytest.raises(ValueError, match="FRICTION_DEV_ENDPOINTS"):
        tenants(dev_endpoints=True)
    for name in ("token_secret", "pseudonym_secret"):
        with pytest.raises(ValueError, match=f"FRICTION_{name.upper()}"):
            tenants(**{name: "change-me-in-production"})
    with pytest.raises(ValueError, match="FRICTION_DEFAULT_CHANNELS"):
        tenants(default_channels=["console"])
