"""Analysts' lists and rules over HTTP (issue 17), per tenant, on the embedded store and Redis.

Two tenants use the same list names and rule ids: each reads and changes only its own
(the other's is a 404, never a 403 that would say it exists). A change is checked before
it is stored — a rule that does not compile is a 422 naming line and column, a CSV
upload is all or nothing and names its bad lines, a card number is refused and stored
nowhere — and conflicts are 409s saying what to do first.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from friction.api.keys import RULES
from friction.rules.rules import Rule
from friction.settings import Settings
from tests.conftest import PRODUCTION_SECRETS, Client
from tests.servers import ServerProcess

KEYS = {"acme": "key-acme-0123456789", "globex": "key-globex-9876543210"}
PAN = "4111111111111111"
pytestmark = pytest.mark.timeout(90)


def key(tenant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[tenant]}"}


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
async def two_tenants(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> AsyncIterator[tuple[Settings, Redis | None]]:
    """A two-tenant service's settings on each store (Redis: a flushed database of its own)."""
    store, redis = "embedded", None
    if request.param == "redis":
        server: ServerProcess = request.getfixturevalue("redis_server")
        store = f"redis://127.0.0.1:{server.port}/9"
        redis = Redis.from_url(store)
        await redis.flushdb()
    settings = make_settings(store=store, api_keys=KEYS, default_channels=["in_app"],
                             **PRODUCTION_SECRETS)  # fmt: skip
    yield settings, redis
    if redis is not None:
        await redis.flushdb()
        await redis.aclose()


@pytest.fixture
async def api(two_tenants: tuple[Settings, Redis | None], start_app: Callable[..., Any]) -> Client:
    client: Client = await start_app(two_tenants[0])
    return client


async def call(
    client: Client, method: str, path: str, tenant: str = "acme", status: int = 200, **kw: Any
) -> Any:
    response = await client.request(method, path, headers=key(tenant), **kw)
    text = await response.text()
    assert response.status == status, (method, path, response.status, text)
    return await response.json() if text else None


def a_list(kind: str = "bin", action: str | None = "decline", **more: Any) -> dict[str, Any]:
    return {"kind": kind, "description": "seen in a ring", "action": action,
            "analyst": "ana", **more}  # fmt: skip


def a_rule(expression: str, action: str = "review", **more: Any) -> dict[str, Any]:
    return {"expression": expression, "action": action, "analyst": "ana", **more}


async def test_lists_rules_and_entries_are_each_tenants_own(api: Client) -> None:
    made = await call(api, "PUT", "/v1/lists/ring_bins", json=a_list(), status=201)
    assert made["name"] == "ring_bins" and made["version"] == 1 and made["size"] == 0
    assert made["updated_by"] == "ana" and made["updated_at"]
    changed = await call(api, "PUT", "/v1/lists/ring_bins",
                         json=a_list(description="ring of March", analyst="bo"))  # fmt: skip
    assert (changed["version"], changed["description"], changed["updated_by"]) == (
        2, "ring of March", "bo")  # fmt: skip
    entry = {"value": "539999", "reason": "chargebacks", "analyst": "ana"}
    added = await call(api, "POST", "/v1/lists/ring_bins/entries", json=entry, status=201)
    assert added["value"] == "539999" and added["added_by"] == "ana"
    rule = await call(api, "PUT", "/v1/rules/r1",
                      json=a_rule("in_list(lists.ring_bins, payment.instrument.bin)"),
                      status=201)  # fmt: skip
    assert (rule["id"], rule["version"], rule["updated_by"]) == ("r1", 1, "ana")
    changed_rule = a_rule("payment.amount.value > 100", "decline", analyst="bo")
    again = await call(api, "PUT", "/v1/rules/r1", json=changed_rule)
    assert again["version"] == 2 and again["action"] == "decline"

    # globex sees nothing of acme's, and cannot read, change or delete any of it
    assert await call(api, "GET", "/v1/lists", "globex") == {"lists": []}
    assert await call(api, "GET", "/v1/rules", "globex") == {"rules": [], "broken": []}
    for method, path in [("GET", "/v1/rules/r1"), ("GET", "/v1/rules/r1/versions"),
                         ("DELETE", "/v1/rules/r1"), ("DELETE", "/v1/lists/ring_bins"),
                         ("GET", "/v1/lists/ring_bins/entries"),
                         ("DELETE", "/v1/lists/ring_bins/entries/539999")]:  # fmt: skip
        await call(api, method, path, "globex", status=404)
    await call(api, "POST", "/v1/lists/ring_bins/entries", "globex", json=entry, status=404)
    # the same names at globex are globex's own
    theirs = await call(api, "PUT", "/v1/lists/ring_bins", "globex",
                        json=a_list("country", None), status=201)  # fmt: skip
    assert theirs["kind"] == "country" and theirs["version"] == 1
    await call(api, "PUT", "/v1/rules/r1", "globex", json=a_rule("score > 0.5"), status=201)
    page = await call(api, "GET", "/v1/lists/ring_bins/entries", "globex")
    assert page == {"entries": [], "next": None}

    [mine] = (await call(api, "GET", "/v1/lists"))["lists"]
    assert (mine["kind"], mine["size"], mine["version"]) == ("bin", 1, 2)
    listed = await call(api, "GET", "/v1/rules")
    assert [(r["id"], r["version"], r["action"]) for r in listed["rules"]] == [
        ("r1", 2, "decline")]  # fmt: skip
    assert (await call(api, "GET", "/v1/rules/r1"))["expression"] == "payment.amount.value > 100"
    await call(api, "DELETE", "/v1/rules/r1", status=204)
    await call(api, "GET", "/v1/rules/r1", status=404)
    await call(api, "DELETE", "/v1/rules/r1", status=404)
    versions = (await call(api, "GET", "/v1/rules/r1/versions"))["versions"]
    assert [v["version"] for v in versions] == [1, 2]  # kept after the delete
    assert (await call(api, "GET", "/v1/rules/r1", "globex"))["expression"] == "score > 0.5"
    await call(api, "DELETE", "/v1/lists/ring_bins", status=204)
    await call(api, "DELETE", "/v1/lists/ring_bins", status=404)
    assert [x["name"] for x in (await call(api, "GET", "/v1/lists", "globex"))["lists"]] == [
        "ring_bins"]  # fmt: skip


async def test_every_route_wants_the_tenants_key(api: Client) -> None:
    routes = [("GET", "/v1/lists"), ("PUT", "/v1/lists/x"), ("DELETE", "/v1/lists/x"),
              ("GET", "/v1/lists/x/entries"), ("POST", "/v1/lists/x/entries"),
              ("DELETE", "/v1/lists/x/entries/1"), ("GET", "/v1/rules"),
              ("GET", "/v1/rules/r"), ("PUT", "/v1/rules/r"), ("DELETE", "/v1/rules/r"),
              ("GET", "/v1/rules/r/versions"), ("POST", "/v1/rules/backtest")]  # fmt: skip
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer key-nobody-0123456789"}):
            response = await api.request(method, path, headers=headers, json={})
            assert response.status == 401, (method, path, await response.text())


async def test_a_rule_is_checked_before_it_is_stored(api: Client) -> None:
    await call(api, "PUT", "/v1/lists/vips", json=a_list("customer", None), status=201)
    cases = [
        ("payment.amount.value >", "line 1, column"),
        ("payment.merchant.contry == 'GB'", "unknown field 'contry'"),
        ("features.nope > 1.0", "unknown feature 'nope'"),
        ("in_list(lists.vip, payment.customer.id)", "unknown list 'vip' (lists: vips)"),
        ("payment.amount.value > 5.0", "CEL does not mix int and double"),
        ("payment.amount.value", "must be true or false"),
    ]
    for expression, said in cases:
        error = await call(api, "PUT", "/v1/rules/bad", json=a_rule(expression), status=422)
        assert said in error["message"], (expression, error)
        assert error["fields"] == ["expression"]
    two_lines = a_rule("score > 0.5 &&\n  payment.merchant.contry == 'GB'")
    multi = await call(api, "PUT", "/v1/rules/bad", json=two_lines, status=422)
    assert "line 2, column" in multi["message"]
    flow = await call(api, "PUT", "/v1/rules/bad", status=422,
                      json=a_rule("score > 0.5", "challenge", flow="no_such_flow"))  # fmt: skip
    assert (
        "unknown flow 'no_such_flow'" in flow["message"]
        and "purchase_confirmation" in flow["message"]
    )
    await call(
        api,
        "PUT",
        "/v1/rules/bad",
        json=a_rule("score > 0.5", flow="purchase_confirmation"),
        status=422,
    )  # fmt: skip  (a flow on a review rule)
    some = {"en": "Checked", "fr": "Vérifié"}
    lacking = await call(api, "PUT", "/v1/rules/bad", status=422,
                         json=a_rule("score > 0.5", "decline", texts=some))  # fmt: skip
    assert "missing ar, es" in lacking["message"]
    await call(api, "PUT", "/v1/rules/bad", json={**a_rule("score > 0.5"), "analyst": ""},
               status=422)  # fmt: skip
    await call(api, "PUT", "/v1/rules/-bad", json=a_rule("score > 0.5"), status=422)
    reserved = await call(api, "PUT", "/v1/rules/backtest", json=a_rule("score > 0.5"), status=422)
    assert "reserved" in reserved["message"]
    assert (await call(api, "GET", "/v1/rules"))["rules"] == []
    await call(api, "GET", "/v1/rules/bad/versions", status=404)  # nothing was ever stored
    texts = {"en": "Was it you?", "ar": "هل هذا أنت؟", "fr": "C'était vous ?", "es": "¿Fue usted?"}
    good = a_rule("in_list(lists.vips, payment.customer.id)", "challenge",
                  flow="purchase_confirmation", texts=texts, mode="shadow", priority=5)  # fmt: skip
    stored = await call(api, "PUT", "/v1/rules/vip_check", json=good, status=201)
    assert (stored["flow"], stored["mode"], stored["priority"]) == (
        "purchase_confirmation",
        "shadow",
        5,
    )


async def test_rules_that_no_longer_compile_are_listed_as_broken(api: Client) -> None:
    # only a write behind the API can make one (a list it reads cannot be deleted here)
    store = api.server.app[RULES].store
    await store.save_rule("acme", Rule(id="stale", expression="in_list(lists.gone, "
                                       "payment.customer.id)", action="review"))  # fmt: skip
    listed = await call(api, "GET", "/v1/rules")
    assert [r["id"] for r in listed["rules"]] == ["stale"]
    [broken] = listed["broken"]
    assert (broken["id"], broken["version"]) == ("stale", 1)
    assert "unknown list 'gone'" in broken["message"]
    assert (await call(api, "GET", "/v1/rules", "globex"))["broken"] == []


async def test_a_list_read_by_rules_or_holding_entries_keeps_its_shape(api: Client) -> None:
    await call(api, "PUT", "/v1/lists/shops", json=a_list("merchant", None), status=201)
    await call(api, "PUT", "/v1/lists/shops", json=a_list("country", None))  # empty: may change
    entry = {"value": "gb", "reason": "test", "analyst": "ana"}
    assert (await call(api, "POST", "/v1/lists/shops/entries", json=entry, status=201))[
        "value"] == "GB"  # fmt: skip
    refused = await call(api, "PUT", "/v1/lists/shops", json=a_list("merchant", None),
                         status=409)  # fmt: skip
    assert "1 entries normalised as country" in refused["message"]
    assert refused["fields"] == ["kind"]
    no_field = await call(api, "PUT", "/v1/lists/mails", json=a_list("email_domain"),
                          status=422)  # fmt: skip
    assert "read it in a rule instead" in no_field["message"]

    for rule_id in ("uses_shops", "also_shops"):
        await call(api, "PUT", f"/v1/rules/{rule_id}", status=201,
                   json=a_rule("in_list(lists.shops, payment.merchant.country)"))  # fmt: skip
    await call(api, "PUT", "/v1/rules/other", json=a_rule("score > 0.9"), status=201)
    held = await call(api, "DELETE", "/v1/lists/shops", status=409)
    assert "also_shops, uses_shops" in held["message"] and "other" not in held["message"]
    await call(api, "DELETE", "/v1/rules/uses_shops", status=204)
    await call(api, "DELETE", "/v1/rules/also_shops", status=204)
    await call(api, "DELETE", "/v1/lists/shops", status=204)
    await call(api, "GET", "/v1/lists/shops/entries", status=404)


async def test_entries_one_at_a_time_paged_and_removed(api: Client) -> None:
    await call(api, "PUT", "/v1/lists/nets", json=a_list("ip"), status=201)
    for value in ("10.0.0.0/8", "2001:db8::/32", "192.0.2.1"):
        entry = {"value": value, "reason": "proxy", "analyst": "ana",
                 "expires_at": "2099-01-01T00:00:00Z"}  # fmt: skip
        await call(api, "POST", "/v1/lists/nets/entries", json=entry, status=201)
    past = {"value": "198.51.100.0/24", "reason": "old", "analyst": "ana",
            "expires_at": "2020-01-01T00:00:00Z"}  # fmt: skip
    error = await call(api, "POST", "/v1/lists/nets/entries", json=past, status=422)
    assert "in the past" in error["message"] and error["fields"] == ["expires_at"]
    host_bits = {"value": "10.1.2.3/8", "reason": "x", "analyst": "ana"}
    error = await call(api, "POST", "/v1/lists/nets/entries", json=host_bits, status=422)
    assert "host bits" in error["message"]
    first = await call(api, "GET", "/v1/lists/nets/entries", params={"limit": "2"})
    assert [e["value"] for e in first["entries"]] == ["10.0.0.0/8", "192.0.2.1"]
    rest = await call(api, "GET", "/v1/lists/nets/entries",
                      params={"limit": "2", "after": first["next"]})  # fmt: skip
    assert [e["value"] for e in rest["entries"]] == ["2001:db8::/32"] and rest["next"] is None
    await call(api, "GET", "/v1/lists/nets/entries", params={"limit": "0"}, status=422)
    # a CIDR holds '/': the path takes it whole, normalised like the entry was
    await call(api, "DELETE", "/v1/lists/nets/entries/10.0.0.0/8", status=204)
    await call(api, "DELETE", "/v1/lists/nets/entries/10.0.0.0/8", status=404)
    await call(api, "DELETE", "/v1/lists/nets/entries/2001:DB8:0::/32", status=204)
    await call(api, "DELETE", "/v1/lists/nets/entries/not-an-ip", status=422)
    left = await call(api, "GET", "/v1/lists/nets/entries")
    assert [e["value"] for e in left["entries"]] == ["192.0.2.1"]
    plain = {**key("acme"), "Content-Type": "text/plain"}
    response = await api.post("/v1/lists/nets/entries", data=b"10.0.0.0/8", headers=plain)
    assert response.status == 415


async def test_csv_uploads_are_all_or_nothing_and_refuse_card_numbers(
    api: Client, two_tenants: tuple[Settings, Redis | None], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings, redis = two_tenants
    await call(api, "PUT", "/v1/lists/bins", json=a_list(), status=201)
    csv = "text/csv"

    async def upload(text: str, status: int, params: dict[str, str] | None = None) -> Any:
        query = {"analyst": "ana"} if params is None else params
        headers = {**key("acme"), "Content-Type": csv}
        response = await api.post("/v1/lists/bins/entries", data=text.encode(),
                                   headers=headers, params=query)  # fmt: skip
        found = await response.json()
        assert response.status == status, found
        return found

    good = "value,reason,expires_at\n539999,ring,\n411111-411199,ring,2099-01-01T00:00:00Z\n"
    assert await upload(good, 201) == {"added": 2}
    bad = "value,reason\n42,ok\nnot-a-bin,typo\n43,\n42,twice\n"
    error = await upload(bad, 422)
    assert error["fields"] == ["line 3", "line 4", "line 5"], error
    assert "nothing was added" in error["message"] and "repeats line 2" in error["message"]
    card = f"value,reason\n44,ok\n45,ok\n{PAN},oops\n"
    refused = await upload(card, 422)
    assert refused["error"] == "card_data_rejected" and refused["fields"] == ["line 4"]
    assert PAN not in str(refused)
    await upload(good, 422, {"analyst": ""})  # the analyst is an identifier
    no_analyst = await upload(good, 422, {})
    assert "analyst" in no_analyst["message"]
    rows = "".join(f"{n},bulk\n" for n in range(10_000, 20_000))  # > max_body_bytes
    assert len(rows) > settings.max_body_bytes
    await upload("value,reason\n" + rows, 413)
    values = [e["value"] for e in (await call(api, "GET", "/v1/lists/bins/entries"))["entries"]]
    assert values == ["411111-411199", "539999"]  # neither failed upload added a row

    assert PAN not in caplog.text
    for path in Path(settings.data_dir).rglob("*"):
        if path.is_file():
            assert PAN.encode() not in path.read_bytes(), path
    if redis is not None:
        async for name in redis.scan_iter():
            assert PAN.encode() not in name
            if await redis.type(name) == b"string":
                assert PAN.encode() not in (await redis.get(name) or b"")
            elif await redis.type(name) == b"hash":
                assert PAN.encode() not in b"".join(
                    k + v for k, v in (await redis.hgetall(name)).items()
                )
            else:  # the adapter writes nothing else: a new type must be searched too
                assert await redis.type(name) == b"zset", name
                assert PAN.encode() not in b"".join(await redis.zrange(name, 0, -1))
