"""The review desk end to end: items open where a person must decide, analysts work them.

Items open from a ``review`` decision, from a dialogue that ends in review and
from a customer's "HUMAN" after an automatic decline (GDPR Art. 22); the API
lists, shows, assigns and resolves them, and a resolution reaches the payment,
the label log and the gateway's webhook like any other verdict.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from friction.analytics import load_reviews
from friction.dialogue.templates import render
from friction.settings import Settings
from tests.conftest import Client
from tests.dialogues import (
    PHONE,
    FakeSms,
    StartApp,
    eventually,
    label_events,
    payment,
    settled,
    start_sms_service,
    transfer,
    twiml_text,
    verdict,
)
from tests.servers import receiver

pytestmark = pytest.mark.timeout(60)
MakeSettings = Callable[..., Settings]


class Gateway:
    """Receives verdict webhooks (signatures are checked in test_verdicts)."""

    def __init__(self) -> None:
        self.url = ""
        self.verdicts: list[dict[str, Any]] = []

    async def receive(self, request: web.Request) -> web.Response:
        self.verdicts.append(await request.json())
        return web.Response(status=204)


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    state = Gateway()
    async with receiver("/verdicts", state.receive) as state.url:
        yield state


@pytest.fixture
async def desk(
    start_app: StartApp, make_settings: MakeSettings, gateway: Gateway
) -> tuple[Client, Settings]:
    """A service where every payment goes to review (challenge always, budget spent)."""
    settings = make_settings(
        challenge_at=0.0,
        friction_budget=0,
        gateway_callback_url=gateway.url,
        gateway_callback_secret="s3cret",
    )
    return await start_app(settings), settings


async def get(client: Client, url: str, expect: int = 200, **params: str) -> dict[str, Any]:
    response = await client.get(url, params=params)
    body: dict[str, Any] = await response.json()
    assert response.status == expect, body
    return body


async def post(client: Client, url: str, json: Any, expect: int = 200) -> dict[str, Any]:
    response = await client.post(url, json=json)
    body: dict[str, Any] = await response.json()
    assert response.status == expect, body
    return body


async def scored(client: Client, body: dict[str, Any], decision: str) -> None:
    answer = await post(client, "/v1/score", body)
    assert answer["decision"] == decision, answer


async def test_policy_review_opens_an_item_with_score_and_history(
    desk: tuple[Client, Settings],
) -> None:
    client, _ = desk
    await scored(client, payment("pay_rev_1"), "review")
    page = await get(client, "/v1/reviews")
    [item] = page["items"]
    assert page["next"] is None
    assert item["id"] == "rev_pay_rev_1" and item["reason"] == "policy_review"
    assert item["status"] == "open" and item["assignee"] is None
    assert any("BUDGET" in r["code"] for r in item["reasons"])  # why a person, not the customer
    assert item["history"]["cust_count_30d"] == 1.0  # this payment is the customer's first
    assert item["history"]["first_counterparty"] == 1.0
    assert [(a["actor"], a["action"]) for a in item["audit"]] == [("policy", "opened")]

    detail = await get(client, "/v1/reviews/rev_pay_rev_1")
    assert detail["review"] == item
    assert detail["payment"]["verdict"] == "review" and detail["payment"]["score"] == item["score"]
    assert detail["payment"]["reasons"] == item["reasons"]
    assert detail["amount_minor"] == 42000 and detail["merchant_name"] == "ACME Electronics"
    assert detail["dialogue"] is None and detail["history"] == item["history"]


async def test_scam_answer_opens_a_dialogue_review_with_its_transcript(
    fake_sms: FakeSms, start_app: StartApp, make_settings: MakeSettings
) -> None:
    client, _ = await start_sms_service(start_app, fake_sms, make_settings)
    await scored(client, transfer("pay_rev_scam"), "challenge")

    async def asked() -> bool:
        return len(fake_sms.outbound()) == 1

    await eventually(asked)
    scam_question = twiml_text(await fake_sms.reply("yes"))
    assert twiml_text(await fake_sms.reply("YES")) == render("scam_pause", "en").text
    assert await verdict(client, "pay_rev_scam") == "review"

    detail = await get(client, "/v1/reviews/rev_pay_rev_scam")
    assert detail["review"]["reason"] == "dialogue_review"
    assert detail["review"]["history"]["first_counterparty"] == 1.0  # a new payee
    transcript = detail["dialogue"]
    assert transcript["flow"] == "new_payee_transfer" and transcript["state"] == "answered"
    assert [(t["step"], t["reply"], t["then"]) for t in transcript["turns"]] == [
        ("confirm_transfer", "yes", "scam_check"),
        ("scam_check", "yes", "review"),
    ]
    questions = [t["question"] for t in transcript["turns"]]
    how = render("answer_yes_no", "en").text  # what the SMS channel adds to a question
    sent = [fake_sms.outbound()[0], scam_question]
    assert [f"{q} {how}" for q in questions] == sent  # the words that were sent
    assert transcript["last_text"] == render("scam_pause", "en").text


async def test_failed_delivery_opens_a_delivery_failed_review(
    fake_sms: FakeSms, start_app: StartApp, make_settings: MakeSettings
) -> None:
    client, _ = await start_sms_service(start_app, fake_sms, make_settings)
    fake_sms.state.config.fail_numbers = [PHONE]
    await scored(client, payment("pay_rev_undelivered"), "challenge")
    assert await settled(client, "pay_rev_undelivered") == "review"
    [item] = (await get(client, "/v1/reviews", status="open"))["items"]
    assert (item["payment_id"], item["reason"]) == ("pay_rev_undelivered", "delivery_failed")


async def test_human_by_sms_after_a_decline_opens_a_contest(
    fake_sms: FakeSms, start_app: StartApp, make_settings: MakeSettings
) -> None:
    client, _ = await start_sms_service(start_app, fake_sms, make_settings, decline_at=0.0)
    await scored(client, payment("pay_rev_declined"), "decline")
    assert await get(client, "/v1/reviews") == {"items": [], "next": None}

    assert twiml_text(await fake_sms.reply("HUMAN", sender="+447700900999")) == ""  # a stranger
    handoff = render("human_handoff", "en-GB").text
    assert twiml_text(await fake_sms.reply("agent please", sid="SM_contest_1")) == handoff
    assert twiml_text(await fake_sms.reply("AGENT", sid="SM_contest_1")) == ""  # replayed
    assert twiml_text(await fake_sms.reply("human")) == handoff  # asked again: same item

    [item] = (await get(client, "/v1/reviews"))["items"]
    assert (item["payment_id"], item["reason"], item["status"]) == (
        "pay_rev_declined",
        "contest",
        "open",
    )
    assert [(a["actor"], a["action"]) for a in item["audit"]] == [("customer", "opened")]
    assert await verdict(client, "pay_rev_declined") == "blocked"  # until a person decides


async def test_list_filters_by_status_and_assignee_and_pages_with_a_cursor(
    desk: tuple[Client, Settings],
) -> None:
    client, _ = desk
    for i in range(5):
        await scored(client, payment(f"pay_list_{i}"), "review")
    for i, analyst in [(1, "ana"), (3, "bob"), (4, "ana")]:
        await post(client, f"/v1/reviews/rev_pay_list_{i}/assign", {"analyst": analyst})

    ids: list[str] = []
    params = {"limit": "2"}
    while True:
        page = await get(client, "/v1/reviews", **params)
        assert len(page["items"]) <= 2
        ids += [item["payment_id"] for item in page["items"]]
        if page["next"] is None:
            break
        params = {"limit": "2", "after": page["next"]}
    assert ids == [f"pay_list_{i}" for i in range(5)]  # oldest first, each once

    async def listed(**query: str) -> list[str]:
        return [item["id"][4:] for item in (await get(client, "/v1/reviews", **query))["items"]]

    assert await listed(status="open") == ["pay_list_0", "pay_list_2"]
    assert await listed(status="assigned", assignee="ana") == ["pay_list_1", "pay_list_4"]
    assert await listed(assignee="bob") == ["pay_list_3"]
    assert await listed(status="resolved") == []


async def test_assign_then_resolve_decides_labels_announces_and_audits(
    desk: tuple[Client, Settings], gateway: Gateway
) -> None:
    client, settings = desk
    await scored(client, payment("pay_rev_fraud"), "review")
    url = "/v1/reviews/rev_pay_rev_fraud"
    assigned = await post(client, url + "/assign", {"analyst": "ana"})
    assert (assigned["status"], assigned["assignee"]) == ("assigned", "ana")

    body = {"analyst": "ana", "verdict": "blocked", "label": "fraud", "note": "mule account"}
    resolved = await post(client, url + "/resolve", body)
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    assert (resolved["verdict"], resolved["label"], resolved["note"]) == (
        "blocked",
        "fraud",
        "mule account",
    )
    trail = [(a["actor"], a["action"]) for a in resolved["audit"]]
    assert trail == [("policy", "opened"), ("ana", "assigned"), ("ana", "resolved")]
    assert await verdict(client, "pay_rev_fraud") == "blocked"
    assert (await get(client, url))["review"] == resolved

    async def labelled() -> bool:
        return bool(label_events(settings.data_dir, "pay_rev_fraud"))

    await eventually(labelled)
    [label] = label_events(settings.data_dir, "pay_rev_fraud")
    assert (label.label, label.source) == ("fraud", "analyst")

    async def announced() -> bool:
        return bool(gateway.verdicts)

    await eventually(announced)
    [hook] = gateway.verdicts
    assert (hook["payment_id"], hook["verdict"]) == ("pay_rev_fraud", "blocked")


async def test_resolve_without_a_label_releases_and_writes_no_label(
    desk: tuple[Client, Settings],
) -> None:
    client, settings = desk
    await scored(client, payment("pay_rev_ok"), "review")
    body = {"analyst": "bob", "verdict": "released", "label": None}
    resolved = await post(client, "/v1/reviews/rev_pay_rev_ok/resolve", body)
    assert resolved["assignee"] == "bob" and resolved["label"] is None
    assert await verdict(client, "pay_rev_ok") == "released"
    await client.close()  # drains the outbox into the event log
    assert label_events(settings.data_dir, "pay_rev_ok") == []


async def test_resolving_another_analysts_item_needs_a_recorded_override(
    desk: tuple[Client, Settings],
) -> None:
    client, _ = desk
    await scored(client, payment("pay_rev_taken"), "review")
    url = "/v1/reviews/rev_pay_rev_taken"
    await post(client, url + "/assign", {"analyst": "ana"})
    body = {"analyst": "bob", "verdict": "released", "label": "genuine"}

    refused = await post(client, url + "/resolve", body, expect=409)
    assert "assigned to ana" in refused["message"] and "override" in refused["message"]
    item = (await get(client, url))["review"]
    assert (item["status"], item["assignee"], len(item["audit"])) == ("assigned", "ana", 2)
    assert await verdict(client, "pay_rev_taken") == "review"  # nothing decided
    error = await post(client, url + "/resolve", {**body, "override": ""}, expect=422)
    assert error["fields"] == ["override"]

    reason = "ana is on leave; customer waiting at the till"
    resolved = await post(client, url + "/resolve", {**body, "override": reason})
    assert (resolved["status"], resolved["assignee"]) == ("resolved", "bob")
    trail = [(a["actor"], a["action"]) for a in resolved["audit"]]
    assert trail == [("policy", "opened"), ("ana", "assigned"), ("bob", "overrode"),
                     ("bob", "resolved")]  # fmt: skip
    assert resolved["audit"][2]["detail"] == f"took over from ana: {reason}"
    assert await verdict(client, "pay_rev_taken") == "released"


async def test_errors_name_what_is_wrong(desk: tuple[Client, Settings]) -> None:
    client, _ = desk
    await scored(client, payment("pay_rev_err"), "review")
    url = "/v1/reviews/rev_pay_rev_err"
    done = {"analyst": "ana", "verdict": "released", "label": "genuine"}
    await post(client, url + "/resolve", done)
    again = await post(client, url + "/resolve", done, expect=409)
    assert again["error"] == "conflict"
    await post(client, url + "/assign", {"analyst": "bob"}, expect=409)

    assert (await get(client, "/v1/reviews/rev_nope", expect=404))["error"] == "not_found"
    await post(client, "/v1/reviews/rev_nope/resolve", done, expect=404)

    for bad, field in [
        ({"analyst": "ana", "verdict": "maybe"}, "verdict"),
        ({"verdict": "released"}, "analyst"),
        ({"analyst": "ana", "verdict": "blocked", "label": "no_answer"}, "label"),
        ({"analyst": "ana", "verdict": "blocked", "colour": "red"}, "colour"),
    ]:
        error = await post(client, url + "/resolve", bad, expect=422)
        assert error["fields"] == [field], error
    for query, field in [({"limit": "500"}, "limit"), ({"after": "bogus"}, "after")]:
        error = await get(client, "/v1/reviews", expect=422, **query)
        assert error["fields"] == [field], error
    assert (await get(client, "/v1/reviews", expect=422, status="x"))["fields"] == ["status"]
    assert (await get(client, "/v1/reviews", expect=422, sort="x"))["fields"] == ["sort"]


async def test_openapi_documents_the_review_routes(desk: tuple[Client, Settings]) -> None:
    client, _ = desk
    document = await get(client, "/openapi.json")
    paths = document["paths"]
    listing = paths["/v1/reviews"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"status", "assignee", "limit", "after"}
    assert paths["/v1/reviews/{review_id}/resolve"]["post"]["requestBody"]
    assert "ReviewDetail" in document["components"]["schemas"]


async def test_notebooks_read_the_queue_from_the_service_and_from_the_store(
    desk: tuple[Client, Settings],
) -> None:
    client, settings = desk
    for payment_id in ("pay_nb_0", "pay_nb_1"):
        await scored(client, payment(payment_id), "review")
    body = {"analyst": "ana", "verdict": "released", "label": "genuine"}
    await post(client, "/v1/reviews/rev_pay_nb_1/resolve", body)

    online = await load_reviews(str(client.make_url("")))
    assert list(online["payment_id"]) == ["pay_nb_0", "pay_nb_1"]
    assert str(online["created_at"].dt.tz) == "UTC" and online["score"].dtype == "float64"
    assert list(online["status"]) == ["open", "resolved"]
    assert online["audit_entries"].tolist() == [1, 2]
    assert online["time_to_resolve_s"].iloc[1] >= 0 and "history_cust_count_7d" in online
    await client.close()

    offline = await load_reviews(settings.data_dir)  # the embedded store the service wrote
    assert offline.equals(online)
    resolved = await load_reviews(settings.data_dir, status="resolved")
    assert list(resolved["label"]) == ["genuine"]
