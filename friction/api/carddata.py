"""Card-data guard: friction never accepts, stores or logs a card number or CVV.

Gateways send a token (plus BIN and last 4 at most). Anything that looks like a primary
account number, or a field named like CVV/PAN/track data, anywhere in the body, rejects the
whole request *before* it is validated, logged or stored. The error names the field, never
the value. Path parameters and query strings get the same check (``api.middleware``); log
lines that quote a path go through ``redact``.

What "looks like a PAN" means: 13 to 19 digits that pass the Luhn check, do not start with
0 (no card issuer has MII 0), after normalising what people and obfuscators put between
digits — any Unicode whitespace, dashes (category Pd), connectors such as ``_`` (Pc), other
punctuation (Po: ``/ . , : ; * # '`` and their kin in every script, but not ``% & @ "``)
and ``| ~`` are separators, and invisible
characters (zero-width and format characters, controls, combining marks) are removed; any
Unicode decimal digit (Arabic-Indic, full-width…) counts as its ASCII digit. Separated
digit groups count together only when grouped as cards are written or spelled out: a first
group of 4 then groups of 4-6 (4-4-4-4, 4-6-5, 4-4-4-4-3), or equal chunks of 1-3 digits
("4 5 3 9 …", "45 39 …"), the last group of either possibly shorter. That grouping rule is
what keeps dates, times, order ids and phone numbers (a run after ``+`` of at most 15
digits, as E.164 allows) from being taken for cards.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

SENSITIVE_KEYS = frozenset(
    {"pan", "cardnumber", "cvv", "cvv2", "cvc", "cvc2", "track1", "track2", "trackdata", "pin",
     "expiry", "expmonth", "expyear", "expiration"}
)  # fmt: skip
"""Field names (lower case, separators removed: ``Card-Number`` is ``cardnumber``)."""

MIN_PAN, MAX_PAN, MAX_PHONE = 13, 19, 15
SEPARATOR, INVISIBLE = " ", "\x00"
_KEPT_PUNCTUATION = frozenset('%&@"')
"""Other punctuation (category Po) is a separator except these: they carry meaning in URLs,
e-mail addresses and JSON (``+``, a math symbol, marks a phone number)."""
_SYMBOL_SEPARATORS = frozenset("|~`∙⁄∕−")
_RUN = re.compile(r"[0-9](?:[ \x00]*[0-9])*")


def may_hold_card_data(raw: bytes) -> bool:
    """Cheap pre-check on the raw body: False means no field can hold card data.

    Sound by construction: a body with non-ASCII bytes (other digits, Unicode separators,
    invisible characters) or a backslash (a JSON escape can spell any of them) always gets
    the full walk; an ASCII body needs it only for a span of 13 digits apart by nothing but
    separators, or a sensitive key name however separated. About 5 µs for a typical ASCII
    payment (the walk costs 40 µs).
    """
    if not raw.isascii() or b"\\" in raw:
        return True
    squashed = raw.lower().translate(_DIGITS_AS_ZERO, _ASCII_SKIPPED)
    return _PAN_MARK in squashed or not _KEY_MARKS.isdisjoint(squashed.split(b'"'))


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum that every real card number satisfies."""
    return _LuhnSums(digits).valid(0, len(digits))


class _LuhnSums:
    """Luhn checks of any slice of one digit string in O(1) each (prefix sums by parity).

    A run of N digits has up to 7N candidate slices (13 to 19 digits from each start):
    summing each from scratch made a 64 KB body of spaced digits cost 0.3 s of CPU.
    """

    _DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)

    def __init__(self, digits: str) -> None:
        # even[k]: sum over p < k of the digit, doubled where p is odd; odd[k]: the reverse
        self._even, self._odd = [0], [0]
        for p, char in enumerate(digits):
            d = ord(char) - 48
            plain, doubled = (d, self._DOUBLED[d]) if p % 2 == 0 else (self._DOUBLED[d], d)
            self._even.append(self._even[-1] + plain)
            self._odd.append(self._odd[-1] + doubled)

    def valid(self, start: int, end: int) -> bool:
        """Luhn of ``digits[start:end]``: every second digit from the right end is doubled."""
        sums = self._even if end % 2 else self._odd  # doubled at p with (end - 1 - p) odd
        return (sums[end] - sums[start]) % 10 == 0


@lru_cache(maxsize=4096)
def _normal_char(char: str) -> str:
    """One non-ASCII character as the guard reads it: a digit, a separator, invisible, or itself."""
    if char.isspace():
        return SEPARATOR
    category = unicodedata.category(char)
    if category == "Nd":
        return str(unicodedata.decimal(char))
    if category in ("Zs", "Zl", "Zp", "Pd", "Pc") or char in _SYMBOL_SEPARATORS:
        return SEPARATOR
    if category == "Po" and char not in _KEPT_PUNCTUATION:
        return SEPARATOR
    if category in ("Cf", "Cc", "Mn", "Me"):
        return INVISIBLE
    return char


_ASCII_TABLE = {ord(char): _normal_char(char) for char in map(chr, range(128))}
# The raw-body pre-check. An ASCII body without escapes holds each JSON string verbatim, so
# with the ASCII characters the walk skips deleted (and every digit read as 0), a card number
# becomes 13 zeros in a row and a sensitive key its plain name between two quotes.
_ASCII_SKIPPED = bytes(c for c, normal in _ASCII_TABLE.items() if normal in (SEPARATOR, INVISIBLE))
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_PAN_MARK = b"0" * MIN_PAN
_KEY_MARKS = frozenset(key.encode().translate(_DIGITS_AS_ZERO) for key in SENSITIVE_KEYS)


def normalise(text: str) -> str:
    """``text`` with the same length, read as the guard reads it (see the module docstring)."""
    text = text.translate(_ASCII_TABLE)
    if text.isascii():
        return text
    return text.translate({ord(c): _normal_char(c) for c in set(text) if not c.isascii()})


def _digit_runs(text: str) -> Iterator[tuple[re.Match[str], list[str]]]:
    """Each run of 13+ digits apart only by separators, with its digit groups (phones skipped)."""
    normal = normalise(text)
    for match in _RUN.finditer(normal):
        groups = match.group().replace(INVISIBLE, "").split()
        digits = sum(len(group) for group in groups)
        if digits < MIN_PAN:
            continue
        before = match.start() - 1
        while before >= 0 and normal[before] in (SEPARATOR, INVISIBLE):
            before -= 1
        if before >= 0 and normal[before] == "+" and digits <= MAX_PHONE:
            continue  # an E.164 phone number: "+44 7700 900123"
        yield match, groups


def _pans_in(groups: list[str]) -> list[str]:
    """Luhn-valid card numbers in one run's digit groups (see the module docstring).

    Linear in the run's length: a window ends at 19 digits, each check is O(1).
    """
    digits = "".join(groups)
    luhn = _LuhnSums(digits)
    starts = [0]
    for group in groups:
        starts.append(starts[-1] + len(group))
    found: list[str] = []
    for i, first in enumerate(groups):
        start, size = starts[i], len(first)
        if digits[start] == "0":
            continue
        if MIN_PAN <= size <= MAX_PAN and luhn.valid(start, start + size):
            found.append(first)
        if size > 4:
            continue
        full = 4 if size == 4 else size  # what every group but the last must hold
        widest = 6 if size == 4 else size
        for j in range(i + 1, len(groups)):
            end, length = starts[j + 1], len(groups[j])
            if length > widest or end - start > MAX_PAN:
                break
            if end - start >= MIN_PAN and luhn.valid(start, end):
                found.append(digits[start:end])
            if length < full:
                break  # a shorter group ends the number
    return found


def contains_pan(text: str) -> bool:
    """True if ``text`` holds a card number, however separated (a '+' prefix marks a phone)."""
    if len(text) < MIN_PAN or (text.isascii() and _ascii_digits(text) < MIN_PAN):
        return False  # most fields of a payment: no need to normalise them
    return any(_pans_in(groups) for _, groups in _digit_runs(text))


_NOT_DIGITS = bytes(c for c in range(128) if not chr(c).isdigit())


def _ascii_digits(text: str) -> int:
    return len(text.encode("ascii").translate(None, _NOT_DIGITS))


def redact(text: str) -> str:
    """``text`` with every run holding a card number replaced by its last 4 (for log lines)."""
    parts: list[str] = []
    end = 0
    for match, groups in _digit_runs(text):
        if pans := _pans_in(groups):
            parts += [text[end : match.start()], f"[card …{max(pans, key=len)[-4:]}]"]
            end = match.end()
    return "".join(parts) + text[end:]


def _key_name(key: str) -> str:
    """A key without case, separators or invisible characters: ``Card_Number`` → ``cardnumber``."""
    return normalise(key).replace(SEPARATOR, "").replace(INVISIBLE, "").lower()


def card_data_fields(value: object, path: str = "") -> list[str]:
    """Dotted paths of every field that carries card data, in a parsed JSON body."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if _key_name(str(key)) in SENSITIVE_KEYS or contains_pan(str(key)):
                found.append(child)
            else:
                found.extend(card_data_fields(item, child))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(card_data_fields(item, f"{path}[{i}]"))
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        text = f"{value:f}" if isinstance(value, float) else str(value)  # no exponent form
        if contains_pan(text):
            found.append(path or "(body)")
    return found
