"""Property tests of the card guard (issue 15, item 4): however a card number is separated.

Hypothesis generates Luhn-valid card numbers of 13-19 digits, writes them as cards are
printed or spelled out, with separators people and obfuscators use (double spaces, NBSP,
tab, en dash, ``/``, ``_``, zero-width characters, other scripts' digits), and checks that
the walk finds each one, in any JSON encoding of a body, and that the cheap pre-check
never lets through a body the walk would reject. The other side: dates, times, phone
numbers and order ids of every shape stay accepted.
"""

from __future__ import annotations

import json
from datetime import datetime

import orjson
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat

from friction.api.bodies import validate
from friction.api.carddata import (
    card_data_fields,
    contains_pan,
    luhn_valid,
    may_hold_card_data,
    normalise,
    redact,
)
from friction.domain.payment import Payment
from friction.errors import CardDataRejected
from tests.conftest import CANONICAL

SEPARATORS = (
    " \u00a0\t\n\r-\u2010\u2011\u2012\u2013\u2014\u2015\u2212/_.,:;*#|"
    "\u2007\u2008\u2009\u200a\u202f\u205f\u3000\u1680\u00b7\uff0f\uff3f\uff0d"
)
INVISIBLES = "\u200b\u200c\u200d\u2060\u00ad\ufeff\u180e\u0301"
ZEROS = (0x30, 0x660, 0x6F0, 0x966, 0xFF10)  # ASCII, Arabic-Indic, Persian, Devanagari, full-width
PRINTED = {
    13: [(4, 4, 5), (4, 4, 4, 1)],
    14: [(4, 6, 4), (4, 4, 4, 2)],
    15: [(4, 6, 5), (4, 4, 4, 3)],
    16: [(4, 4, 4, 4)],
    17: [(4, 4, 4, 4, 1)],
    18: [(4, 4, 4, 4, 2)],
    19: [(4, 4, 4, 4, 3)],
}
PREFIXES = ("", "card ", "my card is: ", "ref#", "n° ", "بطاقتي ", "(", "pay_")
SUFFIXES = ("", " thanks", " exp 12/29", " 123", ")", " مرحبا")


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """A Luhn-valid number of 13-19 digits that does not start with 0 (as every PAN)."""
    length = draw(st.integers(13, 19))
    head = str(draw(st.integers(1, 9))) + "".join(
        str(d) for d in draw(st.lists(st.integers(0, 9), min_size=length - 2, max_size=length - 2))
    )
    return next(head + str(d) for d in range(10) if luhn_valid(head + str(d)))


def chunks(size: int, length: int) -> tuple[int, ...]:
    return (size,) * (length // size) + ((length % size,) if length % size else ())


@st.composite
def written_cards(draw: st.DrawFn) -> tuple[str, str]:
    """(the card number, how someone wrote it in a sentence)."""
    pan = draw(card_numbers())
    groupings = [*PRINTED[len(pan)], chunks(1, len(pan)), chunks(2, len(pan)), (len(pan),)]
    groupings.append(chunks(3, len(pan)))
    grouping = draw(st.sampled_from(groupings))
    zero = draw(st.sampled_from(ZEROS))
    parts: list[str] = []
    at = 0
    for i, size in enumerate(grouping):
        if i:
            parts.append(draw(st.text(st.sampled_from(SEPARATORS), min_size=1, max_size=3)))
        for digit in pan[at : at + size]:
            parts.append(chr(zero + int(digit)))
            parts.append(draw(st.text(st.sampled_from(INVISIBLES), max_size=1)))
        at += size
    written = "".join(parts)
    return pan, draw(st.sampled_from(PREFIXES)) + written + draw(st.sampled_from(SUFFIXES))


@given(written_cards())
@settings(max_examples=400, deadline=None)
def test_every_written_card_number_is_found(card: tuple[str, str]) -> None:
    pan, text = card
    assert contains_pan(text), ascii(text)
    assert card_data_fields({"merchant": {"name": text}}) == ["merchant.name"]
    assert pan not in normalise(redact(text)).replace(" ", "") and "[card …" in redact(text)


@given(written_cards())
@settings(max_examples=300, deadline=None)
def test_every_encoding_of_a_body_with_a_card_number_is_rejected(card: tuple[str, str]) -> None:
    """orjson (UTF-8), ``json.dumps`` (\\u escapes) and a key: pre-check and walk agree."""
    _, text = card
    body = {**CANONICAL, "merchant": {**CANONICAL["merchant"], "name": text}}
    for raw in (
        orjson.dumps(body),
        json.dumps(body).encode(),
        json.dumps(body, ensure_ascii=False).encode(),
        json.dumps({**CANONICAL, text: 1}).encode(),
    ):
        assert may_hold_card_data(raw), raw
        with pytest.raises(CardDataRejected):
            validate(raw, Payment)


TEXTS = st.text(st.sampled_from("0123456789" * 4 + SEPARATORS + INVISIBLES + '+"x٣'), max_size=60)


@given(TEXTS)
@settings(max_examples=2000, deadline=None)
def test_precheck_never_says_no_when_the_walk_would_reject(text: str) -> None:
    for raw in (orjson.dumps({"a": text}), json.dumps({"a": text}).encode()):
        if card_data_fields(orjson.loads(raw)):
            assert may_hold_card_data(raw), raw


DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S.%f",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%d.%m.%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y%m%d-%H%M%S",
    "%Y-%m-%d, %H:%M:%S",
)


@given(st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)), st.sampled_from(DATE_FORMATS))
@settings(max_examples=1000, deadline=None)
def test_dates_and_times_are_not_card_numbers(when: datetime, form: str) -> None:
    assert not contains_pan(when.strftime(form))


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_phone_numbers_of_every_region_are_not_card_numbers(region: str) -> None:
    """Every region's example numbers, as written internationally (E.164 allows 15 digits)."""
    for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
        number = phonenumbers.example_number_for_type(region, kind)
        if number is None:
            continue
        for form in (PhoneNumberFormat.E164, PhoneNumberFormat.INTERNATIONAL):
            text = phonenumbers.format_number(number, form)
            assert not contains_pan(text), text
            assert not card_data_fields({"customer": {"phone": text}})


@given(st.integers(2000_01_01, 2099_12_31), st.integers(0, 10**8 - 1), st.sampled_from("-_/."))
@settings(max_examples=500, deadline=None)
def test_order_ids_are_not_card_numbers(day: int, serial: int, separator: str) -> None:
    assert not contains_pan(f"ord{separator}{day}{separator}{serial:08d}")


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-23 10:15:00",
        "23/11/2026 10:15:00.123456",
        "+44 7700 900123",
        "+1 (415) 555-2671",
        "+971 50 123 4567",
        "0044 7700 900123",
        "203.0.113.7, 198.51.100.23",
        "1,234,567.89 EUR",
        "ORD-2026-000123-45",
        "v1.2.3.4.5.6.7.8.9.10.11.12.13",
    ],
)
def test_ordinary_numbers_are_accepted(text: str) -> None:
    assert not contains_pan(text)


def test_a_pan_starting_with_zero_is_not_a_card() -> None:
    assert luhn_valid("0411111111111116") and not contains_pan("0411111111111116")


def test_json_number_and_float_bodies_are_walked() -> None:
    raw = b'{"a": 4539578763621486.0}'
    assert may_hold_card_data(raw) and card_data_fields(orjson.loads(raw)) == ["a"]


def test_obfuscated_key_names_are_sensitive() -> None:
    for key in ("Card Number", "card-number", "CARD_NUMBER", "c\u200bvv", "exp.month"):
        raw = json.dumps({"x": {key: "1"}}).encode()
        assert may_hold_card_data(raw), key
        with pytest.raises(CardDataRejected):
            validate(raw, Payment)
