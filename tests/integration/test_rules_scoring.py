"""Lists and rules made over HTTP decide the next payment (issue 17), and a rule is backtested.

End to end on the real app: what an analyst saves through the API acts on the very next
``POST /v1/score`` (the rule set is rebuilt before the API answers), shows in the answer's
``RULE`` reason, in the decision event (file bus) and in ``/metrics``; a shadow rule only
counts; allow lists relax, block lists win, priorities order rules, and a rule's challenge
passes the same friction budget as the model's. ``POST /v1/rules/backtest`` replays a rule
on the tenant's own decision log.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from friction.api.keys import STORE
from friction.domain.events import DecisionEvent
from friction.events.file_bus import read_events
from friction.settings import Settings
from tests.conftest import CANONICAL, PRODUCTION_SECRETS, Client
from tests.ledger import drained

StartApp = Callable[..., Any]
pytestmark = pytest.mark.timeout(90)
QUIET = {"challenge_at": 0.99, "decline_at": 1.0}
"""The model allows these small payments: whatever else happens, a rule did it."""
RANGE_RULE = 'payment.instrument.bin.startsWith("539999")'


def payment(customer: str = "cus_42", bin_: str = "424242", **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(CANONICAL)
    body["payment_id"] = f"pay_{uuid.uuid4().hex[:12]}"
    body["customer"]["id"] = customer
    body["instrument"]["bin"] = bin_
    body["amount"]["value"] = 2500
    body.update(changes)
    return body


async def call(client: Client, method: str, path: str, status: int = 200, **kw: Any) -> Any:
    response = await client.request(method, path, **kw)
    text = await response.text()
    assert response.status == status, (method, path, response.status, text)
    return await response.json() if text else None


async def scored(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = await call(client, "POST", "/v1/score", json=body)
    return answer


def acting(answer: dict[str, Any]) -> list[str]:
    """The rules and lists the answer's ``RULE`` reasons name."""
    return [r["rule"] for r in answer["reasons"] if r["code"] == "RULE"]


async def event_of(client: Client, settings: Settings, payment_id: str) -> DecisionEvent:
    await drained(client.server.app[STORE])
    found = [e for e in read_events(settings.event_log_dir, "decisions")
             if isinstance(e, DecisionEvent) and e.payment_id == payment_id]  # fmt: skip
    assert len(found) == 1, found
    return found[0]


async def make_list(client: Client, name: str, kind: str, action: str | None, *values: str) -> None:
    spec = {"kind": kind, "action": action, "analyst": "ana"}
    await call(client, "PUT", f"/v1/lists/{name}", 201, json=spec)
    for value in values:
        entry = {"value": value, "reason": "test", "analyst": "ana"}
        await call(client, "POST", f"/v1/lists/{name}/entries", 201, json=entry)


async def make_rule(
    client: Client, rule_id: str, expression: str, action: str, new: bool = True, **more: Any
) -> None:
    rule = {"expression": expression, "action": action, "analyst": "ana", **more}
    await call(client, "PUT", f"/v1/rules/{rule_id}", 201 if new else 200, json=rule)


async def test_a_block_listed_bin_declines_with_the_list_named_in_answer_and_event(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    settings = make_settings(**QUIET)
    client = await start_app(settings)
    assert (await scored(client, payment(bin_="53999901")))["decision"] == "allow"
    await make_list(client, "ring_bins", "bin", "decline", "539999")
    body = payment(bin_="53999901")
    answer = await scored(client, body)
    assert answer["decision"] == "decline"
    [reason] = [r for r in answer["reasons"] if r["code"] == "RULE"]
    assert reason["rule"] == "ring_bins" and reason["text"]
    event = await event_of(client, settings, body["payment_id"])
    assert event.decision == "decline" and event.rules is not None
    [match] = event.rules.matched
    assert (match.source, match.id, match.version, match.action, match.mode) == (
        "list", "ring_bins", 1, "decline", "live")  # fmt: skip
    assert event.rules.acted == match
    assert (await scored(client, payment(bin_="42424242")))["decision"] == "allow"
    # the entry removed, the next payment of that BIN goes through
    await call(client, "DELETE", "/v1/lists/ring_bins/entries/539999", 204)
    assert (await scored(client, payment(bin_="53999901")))["decision"] == "allow"


async def test_a_shadow_rule_counts_its_hits_but_never_decides(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    settings = make_settings(**QUIET)
    client = await start_app(settings)
    await make_rule(client, "would_decline", "payment.amount.value >= 2000", "decline",
                    mode="shadow")  # fmt: skip
    bodies = [payment(customer=f"cus_s{n}") for n in range(3)]
    for body in bodies:
        answer = await scored(client, body)
        assert answer["decision"] == "allow" and acting(answer) == []
    event = await event_of(client, settings, bodies[0]["payment_id"])
    assert event.rules is not None and event.rules.acted is None
    [match] = event.rules.matched
    assert (match.id, match.mode, match.action) == ("would_decline", "shadow", "decline")
    metrics = await (await client.get("/metrics")).text()
    hits = {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(metrics)
        if family.name == "friction_rule_hits"
        for sample in family.samples
        if sample.name == "friction_rule_hits_total"
    }
    key = (("acted", "false"), ("mode", "shadow"), ("rule", "would_decline"),
           ("source", "rule"), ("tenant", "default"))  # fmt: skip
    assert hits == {key: 3.0}


async def test_allow_lists_relax_block_lists_win_and_priorities_order_rules(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    settings = make_settings(challenge_at=0.0, decline_at=0.0)  # the model declines everything
    client = await start_app(settings)
    assert (await scored(client, payment(customer="cus_vip")))["decision"] == "decline"
    await make_list(client, "vips", "customer", "allow", "cus_vip")
    relaxed = await scored(client, payment(customer="cus_vip"))
    assert relaxed["decision"] == "allow"
    assert acting(relaxed) == ["vips"]
    assert (await scored(client, payment(customer="cus_other")))["decision"] == "decline"
    # the VIP's card is block-listed: the block list acts first
    await make_list(client, "stolen", "instrument", "decline", CANONICAL["instrument"]["token"])
    body = payment(customer="cus_vip")
    blocked = await scored(client, body)
    assert blocked["decision"] == "decline" and acting(blocked) == ["stolen"]
    event = await event_of(client, settings, body["payment_id"])
    assert event.rules is not None and event.rules.acted is not None
    assert [m.id for m in event.rules.matched] == ["stolen", "vips"]
    assert event.rules.acted.id == "stolen"


async def test_rules_act_in_priority_order_and_a_change_applies_at_once(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    client = await start_app(make_settings(**QUIET))
    await make_rule(client, "look", "payment.amount.value > 1000", "review", priority=10)
    await make_rule(client, "stop", "payment.amount.value > 1000", "decline", priority=20)
    first = await scored(client, payment())
    assert first["decision"] == "review" and acting(first) == ["look"]
    await make_rule(client, "stop", "payment.amount.value > 1000", "decline", priority=5,
                    new=False)  # fmt: skip
    second = await scored(client, payment())
    assert second["decision"] == "decline" and acting(second) == ["stop"]
    await call(client, "DELETE", "/v1/rules/stop", 204)
    await call(client, "DELETE", "/v1/rules/look", 204)
    assert (await scored(client, payment()))["decision"] == "allow"


async def test_a_challenge_rule_goes_to_review_once_the_customers_budget_is_spent(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    client = await start_app(make_settings(**QUIET, friction_budget=1,
                                           default_channels=["in_app"]))  # fmt: skip
    await make_rule(client, "ask_big", "payment.amount.value > 1000", "challenge",
                    flow="purchase_confirmation")  # fmt: skip
    asked = await scored(client, payment(customer="cus_b"))
    assert asked["decision"] == "challenge" and asked["dialogue"] is not None
    assert acting(asked) == ["ask_big"]
    spent = await scored(client, payment(customer="cus_b"))
    assert spent["decision"] == "review"
    assert acting(spent) == ["ask_big"]
    assert "FRICTION_BUDGET_SPENT" in [r["code"] for r in spent["reasons"]]
    # another customer still has a question left
    assert (await scored(client, payment(customer="cus_c")))["decision"] == "challenge"


KEYS = {"acme": "key-acme-0123456789", "globex": "key-globex-9876543210"}


def key(tenant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[tenant]}"}


async def test_a_rule_is_backtested_on_the_tenants_own_decision_log(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    settings = make_settings(**QUIET, api_keys=KEYS, default_channels=["in_app"],
                             **PRODUCTION_SECRETS)  # fmt: skip
    client = await start_app(settings)
    ring = []
    for n in range(12):
        body = payment(customer=f"cus_log_{n}", bin_=f"5399990{n}" if n % 3 == 0 else "42424242")
        await call(client, "POST", "/v1/score", json=body, headers=key("acme"))
        if n % 3 == 0:
            ring.append(body["payment_id"])
    for n in range(2):  # globex has ring payments of its own: never in acme's figures
        body = payment(customer=f"cus_g{n}", bin_="53999911")
        await call(client, "POST", "/v1/score", json=body, headers=key("globex"))
    for payment_id in ring[:3]:
        label = {"label": "fraud", "source": "chargeback"}
        await call(client, "POST", f"/v1/payments/{payment_id}/labels", 202, json=label,
                   headers=key("acme"))  # fmt: skip
    await drained(client.server.app[STORE])

    async def backtest(tenant: str, status: int = 200, **body: Any) -> Any:
        return await call(client, "POST", "/v1/rules/backtest", status, json=body,
                          headers=key(tenant))  # fmt: skip

    trial = await backtest("acme", expression=RANGE_RULE, action="decline")
    assert (trial["payments"], trial["skipped"], trial["days"]) == (12, 0, 30)
    hits = trial["hits"]
    assert (hits["hits"], hits["fraud"], hits["unlabelled"], hits["genuine"]) == (4, 3, 1, 0)
    assert hits["acted"] == 4 and hits["errors"] == 0
    assert hits["changes"] == {"allow → decline": 4}
    reads_ring = "in_list(lists.ring, payment.instrument.bin)"
    # the same through the tenant's list (read as the live rule set reads it)
    await call(client, "PUT", "/v1/lists/ring", json={"kind": "bin", "analyst": "ana"},
               headers=key("acme"), status=201)  # fmt: skip
    await call(client, "POST", "/v1/lists/ring/entries", 201, headers=key("acme"),
               json={"value": "539999", "reason": "ring", "analyst": "ana"})  # fmt: skip
    listed = await backtest("acme", expression=reads_ring, action="review", days=7)
    assert listed["hits"]["hits"] == 4 and listed["hits"]["changes"] == {"allow → review": 4}
    theirs = await backtest("globex", expression=RANGE_RULE, action="decline")
    assert (theirs["payments"], theirs["hits"]["hits"], theirs["hits"]["unlabelled"]) == (2, 2, 2)
    unknown = await backtest("globex", 422, expression=reads_ring, action="decline")
    assert "unknown list 'ring'" in unknown["message"] and "line 1, column" in unknown["message"]
    phone = await backtest(
        "acme", 422, expression='payment.customer.phone == "+1"', action="review"
    )
    assert "not kept in the decision log" in phone["message"]
    await backtest("acme", 422, expression=RANGE_RULE, action="decline", days=91)
    await backtest(
        "acme", 422, expression=RANGE_RULE, action="review", flow="purchase_confirmation"
    )
    assert (await call(client, "GET", "/v1/rules", headers=key("acme")))["rules"] == []


@pytest.mark.kafka
async def test_a_backtest_on_kafka_says_where_the_log_is(
    make_settings: Callable[..., Settings], start_app: StartApp, kafka_bootstrap: str
) -> None:
    settings = make_settings(bus=f"kafka://{kafka_bootstrap}", kafka_idempotent=False)
    client = await start_app(settings)
    refused = await call(client, "POST", "/v1/rules/backtest", 409,
                         json={"expression": RANGE_RULE, "action": "decline"})  # fmt: skip
    assert "friction backtest" in refused["message"] and "--events" in refused["message"]
    assert "\n" not in refused["message"]
