"""Card-data guard: friction never accepts, stores or logs a card number or CVV.

Gateways send a token (plus BIN and last 4 at most). Anything that looks like
a primary account number — a run of 13 to 19 digits, spaces or dashes allowed,
that passes the Luhn check — or a field named like CVV/PAN/track data, anywhere
in the body, rejects the whole request *before* it is validated, logged or
stored. The error names the field, never the value.
"""

from __future__ import annotations

import re

PAN_RUN = re.compile(r"(?<![\d+])\d(?:[ -]?\d){12,18}(?!\d)")
SENSITIVE_KEYS = frozenset(
    {"pan", "card_number", "cardnumber", "cvv", "cvv2", "cvc", "cvc2", "track1", "track2",
     "track_data", "pin", "expiry", "exp_month", "exp_year", "expiration"}
)  # fmt: skip


_DIGIT_RUN = re.compile(rb"\d(?:[ -]?\d){12}")
_KEY_HINT = re.compile(
    rb'(?i)"(?:pan|card_?number|cvv2?|cvc2?|track(?:1|2|_data)|pin|expiry|exp_month|exp_year|expiration)"'
)


def may_hold_card_data(raw: bytes) -> bool:
    """Cheap pre-check on the raw body: False means no field can hold card data.

    A body needs the full walk only if it has a run of 13+ digits, a sensitive
    key name, or a JSON escape (which could spell digits without showing them).
    """
    return bool(b"\\u" in raw or _DIGIT_RUN.search(raw) or _KEY_HINT.search(raw))


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum that every real card number satisfies."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = ord(char) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def contains_pan(text: str) -> bool:
    """True if the text holds a 13–19 digit Luhn-valid number (a '+' prefix marks a phone)."""
    for match in PAN_RUN.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


def card_data_fields(value: object, path: str = "") -> list[str]:
    """Dotted paths of every field that carries card data, in a parsed JSON body."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if str(key).lower() in SENSITIVE_KEYS or contains_pan(str(key)):
                found.append(child)
            else:
                found.extend(card_data_fields(item, child))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(card_data_fields(item, f"{path}[{i}]"))
    elif isinstance(value, str | int) and not isinstance(value, bool) and contains_pan(str(value)):
        found.append(path or "(body)")
    return found
