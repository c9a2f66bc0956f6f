"""POST /v1/score and GET /v1/payments/{id}: contract, idempotency, validation, card data."""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from friction.events.file_bus import read_events
from friction.settings import Settings
from tests.conftest import CANONICAL, Client

StartApp = Callable[[Settings], Awaitable[Client]]


async def test_canonical_payment_is_scored_with_the_documented_fields(client: Client) -> None:
    response = await client.post("/v1/score", json=CANONICAL)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["payment_id"] == "pay_0001"
    assert body["decision"] in {"allow", "challenge", "review", "decline"}
    assert 0.0 <= body["score"] <= 1.0
    assert body["model_version"]
    assert body["reasons"] and all({"code", "text"} <= set(r) for r in body["reasons"])
    assert body["budget"]["limit"] == 3

    status = await client.get("/v1/payments/pay_0001")
    assert status.status == 200
    state = await status.json()
    assert state["decision"] == body["decision"]
    assert state["verdict"] in {"pending", "released", "blocked", "review"}


async def test_retry_with_same_body_gets_byte_identical_response(client: Client) -> None:
    first = await (await client.post("/v1/score", json=CANONICAL)).read()
    # same content, different key order and whitespace: still the same payment
    reordered = json.dumps(dict(reversed(list(CANONICAL.items()))), indent=2)
    second = await client.post(
        "/v1/score", data=reordered, headers={"Content-Type": "application/json"}
    )
    assert second.status == 200
    assert await second.read() == first


async def test_same_id_different_body_is_409(client: Client) -> None:
    await client.post("/v1/score", json=CANONICAL)
    changed = copy.deepcopy(CANONICAL)
    changed["amount"]["value"] = 42001
    response = await client.post("/v1/score", json=changed)
    assert response.status == 409
    body = await response.json()
    assert body["error"] == "conflict"
    assert "different body" in body["message"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p["amount"].update(currency="euro"), "amount.currency"),
        (lambda p: p["customer"].update(phone="0770 0900"), "customer.phone"),
        (lambda p: p.pop("merchant"), "merchant"),
        (lambda p: p.update(channel="fax"), "channel"),
        (lambda p: p.update(occurred_at="yesterday"), "occurred_at"),
        (lambda p: p.update(occurred_at="2026-11-23T10:15:00"), "occurred_at"),
        (lambda p: p.update(surprise=1), "surprise"),
        (lambda p: p["amount"].update(value=-5), "amount.value"),
        (lambda p: p["device"].update(ip="203.0.113.300"), "device.ip"),
    ],
)
async def test_malformed_payment_is_422_naming_the_field(
    client: Client, mutate: Callable[[dict[str, Any]], object], field: str
) -> None:
    payment = copy.deepcopy(CANONICAL)
    mutate(payment)
    response = await client.post("/v1/score", json=payment)
    assert response.status == 422
    body = await response.json()
    assert field in body["fields"]
    assert field in body["message"]


async def test_not_json_and_wrong_content_type_are_clear_4xx(client: Client) -> None:
    broken = await client.post(
        "/v1/score", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status == 422
    assert "not valid JSON" in (await broken.json())["message"]
    wrong = await client.post("/v1/score", data=b"a=1", headers={"Content-Type": "text/plain"})
    assert wrong.status == 415
    missing = await client.get("/v1/payments/nope")
    assert missing.status == 404


PAN = "4111111111111111"


@pytest.mark.parametrize(
    "place",
    [
        lambda p: p["instrument"].update(token=PAN),
        lambda p: p["merchant"].update(name=f"card {PAN[:4]} {PAN[4:8]} {PAN[8:12]} {PAN[12:]}"),
        lambda p: p.update(note=PAN),
        lambda p: p["device"].update(id=f"{PAN[:4]}-{PAN[4:8]}-{PAN[8:12]}-{PAN[12:]}"),
        lambda p: p["amount"].update(value=int(PAN)),
        lambda p: p["instrument"].update(cvv="123"),
    ],
)
async def test_card_number_anywhere_is_rejected_and_never_written(
    make_settings: Callable[..., Settings],
    start_app: StartApp,
    place: Callable[[dict[str, Any]], object],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings(challenge_at=0.0)
    client = await start_app(settings)
    payment = copy.deepcopy(CANONICAL)
    place(payment)
    response = await client.post("/v1/score", json=payment)
    assert response.status == 422
    text = await response.text()
    assert json.loads(text)["error"] == "card_data_rejected"
    assert PAN not in text and PAN[:4] + " " not in text
    await client.close()
    assert PAN not in caplog.text
    assert PAN not in capsys.readouterr().out
    for path in Path(settings.data_dir).rglob("*"):
        if path.is_file():
            assert PAN.encode() not in path.read_bytes(), path
    assert list(read_events(settings.event_log_dir, "decisions")) == []


async def test_phone_numbers_and_canonical_ids_are_not_mistaken_for_cards(client: Client) -> None:
    payment = copy.deepcopy(CANONICAL)
    payment["customer"]["phone"] = "+4915112345678"  # 13 Luhn-valid digits behind a '+'
    payment["payment_id"] = "pay_0002"
    response = await client.post("/v1/score", json=payment)
    assert response.status == 200, await response.text()


async def test_one_decision_event_per_payment_even_when_retried(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    settings = make_settings()
    client = await start_app(settings)
    for n in range(5):
        payment = copy.deepcopy(CANONICAL)
        payment["payment_id"] = f"pay_{n}"
        for _ in range(3):
            assert (await client.post("/v1/score", json=payment)).status == 200
    await client.close()  # drains the outbox
    events = list(read_events(settings.event_log_dir, "decisions"))
    assert sorted(e.payment_id for e in events) == [f"pay_{n}" for n in range(5)]
    first = events[0]
    assert first.features and first.schema_ == "decision/v1"


async def test_ops_endpoints(client: Client) -> None:
    await client.post("/v1/score", json=CANONICAL)
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["model"]
    metrics = await (await client.get("/metrics")).text()
    assert "friction_request_seconds_bucket" in metrics
    assert 'friction_decisions_total{decision="' in metrics
    spec = await (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    assert "/v1/score" in spec["paths"]
    assert "Payment" in spec["components"]["schemas"]
