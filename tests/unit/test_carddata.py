"""The card-data guard finds PANs wherever they hide and leaves phone numbers alone."""

from __future__ import annotations

import random
import re

import pytest

from friction.api.carddata import (
    card_data_fields,
    contains_pan,
    luhn_valid,
    may_hold_card_data,
    redact,
)


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("4111111111111111", True), ("4111111111111112", False), ("79927398713", True),
     ("5555555555554444", True), ("378282246310005", True), ("0", True)],
)  # fmt: skip
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("4111111111111111", True),
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1111", True),
        ("card:4111111111111111;", True),
        ("6011111111111117", True),
        ("4111111111111112", False),  # fails Luhn
        ("+4477009001234", False),  # a phone number
        ("411111111111", False),  # 12 digits
        ("41111111111111111111", False),  # 20 digits: not a PAN length
        ("4111 1111 1111 1111 12/29", True),  # hidden in a longer run of digit groups
        ("card 4111 1111 1111 1111 123", True),  # followed by the CVV
        ("4111111111111111 1", True),
        ("pay_0001", False),
        ("3782 822463 10005", True),  # AmEx, printed 4-6-5
        (
            "ord-20261123-00000006",
            False,
        ),  # an order id: 16 digits, Luhn-valid, not a card's grouping
        ("loc-ab1234-000000004", False),
        ("2026-11-23T10:15:00Z", False),
    ],
)
def test_contains_pan(text: str, found: bool) -> None:
    assert contains_pan(text) is found


def test_fields_are_named_by_path_never_by_value() -> None:
    body = {
        "a": {"b": ["x", "4111111111111111"]},
        "cvv": "123",
        "n": 4111111111111111,
        "ok": True,
        "4111111111111111": "key",
    }
    assert card_data_fields(body) == ["a.b[1]", "cvv", "n", "4111111111111111"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "4111111111111111"}',
        b'{"a": "4111 1111 1111 1111"}',
        b'{"a": 4111111111111111}',
        b'{"CVV": "1"}',
        b'{"x": {"card_number": "1"}}',
        b'{"a": "\\u0034111111111111111"}',
    ],
)
def test_precheck_lets_every_suspicious_body_through_to_the_walk(raw: bytes) -> None:
    assert may_hold_card_data(raw)


def test_precheck_passes_every_body_with_13_digits_in_a_row() -> None:
    """The pre-check's wide span test misses nothing the exact definition would find."""
    exact = re.compile(rb"\d(?:[ -]?\d){12}")  # 13 digits, at most one separator between
    rng = random.Random(7)
    alphabet = b"0123456789" * 3 + b' -+:,.x"{}'
    found = 0
    for _ in range(20_000):
        raw = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))
        if exact.search(raw):
            found += 1
            assert may_hold_card_data(raw), raw
    assert found > 1_000  # the sample holds enough runs to mean something


@pytest.mark.parametrize("key", [b"PAN", b"Card_Number", b"cvC2", b"Track_Data", b"EXP_MONTH"])
def test_precheck_finds_key_names_in_any_case(key: bytes) -> None:
    assert may_hold_card_data(b'{"x": {"' + key + b'": "1"}}')


def test_precheck_skips_ordinary_payments() -> None:
    assert not may_hold_card_data(
        b'{"payment_id": "pay_1", "customer": {"phone": "+447700900123"}}'
    )


def test_redact_keeps_the_last_4_and_leaves_other_numbers() -> None:
    line = "GET /v1/payments/pay_4111-1111-1111-1111 for +447700900123 at 2026-11-23"
    assert redact(line) == "GET /v1/payments/pay_[card …1111] for +447700900123 at 2026-11-23"


def test_a_long_run_of_short_groups_is_checked_in_linear_time() -> None:
    assert not contains_pan("1 " * 30_000)  # windows stop at 19 digits: no quadratic blow-up


def test_ids_friction_mints_never_look_like_card_data() -> None:
    """Dialogue ids travel in URLs: a random hex id is a Luhn-valid card number now and then
    (about one in a thousand), and the guard would refuse the customer's answer."""
    from friction.dialogue.engine import new_dialogue_id

    ids = [new_dialogue_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert not [i for i in ids if card_data_fields({"id": i})]
