"""Card-data guard: friction never accepts, stores or logs a card number or CVV.

Gateways send a token (plus BIN and last 4 at most). Anything that looks like
a primary account number — 13 to 19 digits that pass the Luhn check, plain or grouped
as cards are printed (spaces or dashes), even inside a longer run of digit groups — or
a field named like CVV/PAN/track data, anywhere in the body, rejects the whole request
*before* it is validated, logged or stored. The error names the field, never the value. Path
parameters and query strings get the same check (``api.middleware``); log lines
that quote a path go through ``redact``.
"""

from __future__ import annotations

import re

DIGIT_RUN = re.compile(r"(?<![\d+])\d(?:[ -]?\d)+")
SENSITIVE_KEYS = frozenset(
    {"pan", "card_number", "cardnumber", "cvv", "cvv2", "cvc", "cvc2", "track1", "track2",
     "track_data", "pin", "expiry", "exp_month", "exp_year", "expiration"}
)  # fmt: skip


# Any 13 digits with single separators (what DIGIT_RUN can find) lie in a span of digits,
# spaces and dashes that starts and ends with a digit: this wider test is 3x cheaper.
_DIGIT_SPAN = re.compile(rb"\d[\d -]{11,}\d")
_KEY_HINT = re.compile(
    rb'"(?:pan|card_?number|cvv2?|cvc2?|track(?:1|2|_data)|pin|expiry|exp_month|exp_year|expiration)"'
)  # searched in the lower-cased body: a case-insensitive pattern costs 3x more


def may_hold_card_data(raw: bytes) -> bool:
    """Cheap pre-check on the raw body: False means no field can hold card data.

    A body needs the full walk only if it has a span of 13+ digits, spaces and dashes,
    a sensitive key name in any case, or a JSON escape (which could spell digits or a
    key without showing them). About 5 µs for a typical payment.
    """
    return bool(b"\\u" in raw or _DIGIT_SPAN.search(raw) or _KEY_HINT.search(raw.lower()))


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum that every real card number satisfies."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = ord(char) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _pans_in(run: str) -> list[str]:
    """Luhn-valid card numbers in one run of digits and single spaces/dashes.

    A group of 13–19 digits counts on its own; separated groups count together only when
    they are grouped as cards are written — a first group of 4, then groups of at most 6
    (4-4-4-4, 4-6-5, 4-6-4, 4-4-4-2, 4-4-4-4-3) — so that an order id like ``20261123-00012345``
    is not a card number, while ``4539 5787 6362 1486`` followed by more digits ("12/29",
    a CVV) still is. Linear in the run's length: at most 19 digits a window.
    """
    groups = re.split(r"[ -]", run)
    found = [group for group in groups if 13 <= len(group) <= 19 and luhn_valid(group)]
    for i, first in enumerate(groups):
        if len(first) != 4:
            continue
        digits = first
        for group in groups[i + 1 :]:
            if len(group) > 6 or len(digits) + len(group) > 19:
                break
            digits += group
            if len(digits) >= 13 and luhn_valid(digits):
                found.append(digits)
    return found


def contains_pan(text: str) -> bool:
    """True if the text holds a 13–19 digit Luhn-valid number (a '+' prefix marks a phone)."""
    return any(_pans_in(match.group()) for match in DIGIT_RUN.finditer(text))


def redact(text: str) -> str:
    """``text`` with every run holding a card number replaced by its last 4 (for log lines)."""

    def mask(match: re.Match[str]) -> str:
        pans = _pans_in(match.group())
        return f"[card …{pans[0][-4:]}]" if pans else match.group()

    return DIGIT_RUN.sub(mask, text)


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
