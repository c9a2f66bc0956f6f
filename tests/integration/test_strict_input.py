"""Strict input on POST /v1/score (issue 15 item 7, issue 19 item 12).

Before: ``"42000"`` and ``true`` were coerced into amounts, currency ``XYZ`` was accepted,
an ``occurred_at`` ten years ahead was scored (and the sink wrote a ``date=2036-…``
partition), and an amount of 0 — a card check — was declined as ``AMOUNT_HIGH`` or
challenged by an SMS saying "Did you just pay EUR 0.00". Each case is a 422 naming the
field (and nothing is stored), or, for the card check, an allow without any question.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from friction.events.file_bus import read_events
from friction.settings import Settings
from tests.conftest import CANONICAL, Client
from tests.dialogues import StartApp

Mutation = Callable[[dict[str, Any]], object]


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("mutate", "field", "says"),
    [
        (lambda p: p["amount"].update(value="42000"), "amount.value", "valid integer"),
        (lambda p: p["amount"].update(value=True), "amount.value", "valid integer"),
        (lambda p: p["amount"].update(value=42000.0), "amount.value", "valid integer"),
        (lambda p: p["amount"].update(currency="XYZ"), "amount.currency", "ISO 4217"),
        (lambda p: p["amount"].update(currency="DEM"), "amount.currency", "ISO 4217"),
        (
            lambda p: p["device"].update(geo={"lat": "51.5", "lon": 0}),
            "device.geo.lat",
            "valid number",
        ),
        (
            lambda p: p["device"].update(geo={"lat": 51.5, "lon": False}),
            "device.geo.lon",
            "valid number",
        ),
        (lambda p: p["customer"].update(phone="+4477"), "customer.phone", "too short"),
        (lambda p: p["customer"].update(phone="+44 7700 900123"), "customer.phone", "E.164 form"),
        (lambda p: p["customer"].update(phone="447700900123"), "customer.phone", "E.164 form"),
        (lambda p: p["customer"].update(phone="+99912345678"), "customer.phone", "country"),
        (lambda p: p["customer"].update(phone="+4477009001234567"), "customer.phone", "too long"),
    ],
)
async def test_no_coercion_no_unknown_currency_no_impossible_phone(
    client: Client, mutate: Mutation, field: str, says: str
) -> None:
    payment = copy.deepcopy(CANONICAL)
    mutate(payment)
    response = await client.post("/v1/score", json=payment)
    assert response.status == 422, await response.text()
    body = await response.json()
    assert body["fields"] == [field] and says in body["message"]
    assert (await client.get(f"/v1/payments/{payment['payment_id']}")).status == 404


@pytest.mark.parametrize(("currency", "value"), [("JPY", 42000), ("KWD", 42000), ("AED", 0)])
async def test_real_currencies_of_any_exponent_are_accepted(
    client: Client, currency: str, value: int
) -> None:
    payment = {**CANONICAL, "amount": {"value": value, "currency": currency}}
    assert (await client.post("/v1/score", json=payment)).status == 200


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(days=-29, hours=-23), True),
        (timedelta(hours=23), True),
        (timedelta(days=-31), False),
        (timedelta(hours=25), False),
        (timedelta(days=3652), False),  # ten years ahead: the 2036 partition of the issue
    ],
)
async def test_occurred_at_lies_in_a_window_of_the_server_clock(
    make_settings: Callable[..., Settings],
    start_app: StartApp,
    offset: timedelta,
    accepted: bool,
) -> None:
    settings = make_settings(occurred_at_max_age_days=30, occurred_at_max_ahead_seconds=86400)
    client = await start_app(settings)
    payment = {**CANONICAL, "occurred_at": stamp(datetime.now(UTC) + offset)}
    response = await client.post("/v1/score", json=payment)
    if accepted:
        assert response.status == 200, await response.text()
        return
    assert response.status == 422
    body = await response.json()
    assert body["fields"] == ["occurred_at"]
    assert "30 days before and 86400 s after" in body["message"]
    assert (await client.get(f"/v1/payments/{payment['payment_id']}")).status == 404


def test_the_window_defaults_to_30_days_back_and_a_day_ahead() -> None:
    defaults = Settings()
    assert defaults.occurred_at_max_age_days == 30
    assert defaults.occurred_at_max_ahead_seconds == 86400


async def test_a_card_check_is_allowed_without_a_question_or_an_amount_reason(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    """``challenge_at=0`` challenges every charged payment; a card check is still not asked."""
    settings = make_settings(challenge_at=0.0, default_channels=["console"])
    client = await start_app(settings)
    charged = await (await client.post("/v1/score", json=CANONICAL)).json()
    assert charged["decision"] == "challenge"  # the setting does challenge charged payments
    for n in range(5):
        check = {
            **CANONICAL,
            "payment_id": f"pay_check_{n}",
            "amount": {"value": 0, "currency": "EUR"},
        }
        body = await (await client.post("/v1/score", json=check)).json()
        assert body["decision"] == "allow" and body["dialogue"] is None, body
        codes = {reason["code"] for reason in body["reasons"]}
        assert "CARD_CHECK" in codes and not codes & {"AMOUNT_HIGH", "AMOUNT_UNUSUAL"}
    prompts = await (await client.get("/v1/customers/cus_42/prompts")).json()
    assert [prompt["payment_id"] for prompt in prompts] == ["pay_0001"]
    await client.close()  # drains the outbox into the event log
    asked = {event.payment_id for event in read_events(settings.event_log_dir, "dialogues")}
    assert asked == {"pay_0001"}  # the charged payment's dialogue, none for the card checks
