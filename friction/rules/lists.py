"""Analysts' lists: named sets of values of one kind, each entry with who, when, why, until.

A list's kind fixes how its values are checked and written (``normalise``), so that the
entry an analyst types and the value a payment carries compare equal: a BIN entry covers
the BINs that start with it (``411111`` covers the 8-digit ``41111122``) or fall in a range
(``411111-411199``), an IP entry is an address or a CIDR, an e-mail domain covers its
subdomains. A list may be an allow list or a block list (``action``): it then acts on its
own, before any rule (``friction.rules.rules``); a plain list only feeds rules.

Card numbers never enter a list. JSON bodies pass the API's card-data guard before they
reach this module; a CSV upload is checked here, row by row, with the same guard given by
the caller (``rejects_card_data``): a row that holds one is refused without its value.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from friction.errors import CardDataRejected, InvalidInput

ListKind = Literal[
    "instrument", "bin", "customer", "device", "ip", "email_domain", "merchant", "country"
]
ListAction = Literal["allow", "decline"]
ListName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
"""A list is read in rules as ``lists.NAME``: its name must be a CEL identifier."""

KIND_FIELDS: dict[str, str] = {
    "instrument": "instrument.token",
    "bin": "instrument.bin",
    "customer": "customer.id",
    "device": "device.id",
    "ip": "device.ip",
    "merchant": "merchant.id",
    "country": "merchant.country",
}
"""The payment field an allow/block list of each kind is checked against; the body has no
e-mail, so an ``email_domain`` list is read by rules only."""

MAX_CSV_ROWS = 200_000
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")  # the score body's identifiers
_BIN = re.compile(r"^(\d{1,8})(?:-(\d{1,8}))?$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class Body(BaseModel):
    """Request bodies of lists and rules: unknown fields are errors, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ListBody(Body):
    """``PUT /v1/lists/{list}``: create a list or change its description or action."""

    kind: ListKind
    description: str = Field("", max_length=500)
    action: ListAction | None = None
    """``decline``: a block list; ``allow``: an allow list; none: read by rules only."""


class EntryBody(Body):
    """``POST /v1/lists/{list}/entries``: one entry (its value checked against the kind)."""

    value: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)
    expires_at: AwareDatetime | None = None


class ListEntry(Body):
    """An entry as stored: its normalised value, why, by whom, since and until when."""

    value: str
    reason: str
    added_by: str
    added_at: AwareDatetime
    expires_at: AwareDatetime | None = None

    def live_at(self, now: datetime) -> bool:
        """Not expired at ``now`` (an entry without expiry never expires)."""
        return self.expires_at is None or self.expires_at > now


class RuleList(Body):
    """A list as stored and listed: its name, kind, action and version (one per change)."""

    name: ListName
    kind: ListKind
    description: str = ""
    action: ListAction | None = None
    version: int = Field(1, ge=1)
    updated_by: str = ""
    updated_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _action_needs_a_field(self) -> RuleList:
        if self.action is not None and self.kind not in KIND_FIELDS:
            raise ValueError(
                f"a {self.kind} list cannot be an {self.action} list: the payment carries "
                "no such field; read it in a rule instead"
            )
        return self


def normalise(kind: ListKind, value: str) -> str:
    """The canonical form of ``value`` for a list of ``kind``, or ``InvalidInput`` saying why."""
    value = value.strip()
    shown = value[:64]
    if kind == "bin":
        return _bin(value, shown)
    if kind == "ip":
        return _ip(value, shown)
    if kind == "email_domain":
        return email_domain(value, shown)
    if kind == "country":
        code = value.upper()
        if not re.fullmatch(r"[A-Z]{2}", code):
            raise InvalidInput(
                f"{shown!r} is not a country: give an ISO 3166 alpha-2 code", fields=["value"]
            )
        return code
    if not _IDENTIFIER.fullmatch(value):
        raise InvalidInput(
            f"{shown!r} is not a {kind} id: 1 to 64 of letters, digits and _ . : -",
            fields=["value"],
        )
    return value


def bin_bounds(value: str) -> tuple[int, int, int]:
    """A normalised BIN entry as (digits, low, high) over its leading digits."""
    low, _, high = value.partition("-")
    return len(low), int(low), int(high or low)


def ip_network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A normalised IP entry as a network (an address is a /32 or /128)."""
    return ipaddress.ip_network(value)


def email_domain(value: str, shown: str | None = None) -> str:
    """A domain (or an address's domain) in lower-case ASCII (IDNA), checked label by label."""
    shown = shown or value[:64]
    domain = value.strip().rsplit("@", 1)[-1].rstrip(".").lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidInput(f"{shown!r} is not a domain name", fields=["value"]) from None
    labels = domain.split(".")
    if len(labels) < 2 or len(domain) > 253 or not all(_LABEL.fullmatch(x) for x in labels):
        raise InvalidInput(
            f"{shown!r} is not a domain name: labels of letters, digits and '-', with a dot",
            fields=["value"],
        )
    return domain


def make_entry(kind: ListKind, body: EntryBody, added_by: str, now: datetime) -> ListEntry:
    """A stored entry from an API body: the value normalised, the expiry in the future."""
    if body.expires_at is not None and body.expires_at <= now:
        raise InvalidInput(
            "expires_at is in the past: the entry would never apply", fields=["expires_at"]
        )
    return ListEntry(
        value=normalise(kind, body.value),
        reason=body.reason,
        added_by=added_by,
        added_at=now,
        expires_at=body.expires_at,
    )


def parse_csv(
    text: str,
    kind: ListKind,
    added_by: str,
    now: datetime,
    *,
    rejects_card_data: Callable[[str], bool],
) -> list[ListEntry]:
    """Entries from a CSV upload (header ``value,reason,expires_at``), all or none.

    Every bad row is reported with its line number in one ``InvalidInput``, so that an
    analyst fixes the file once; a value seen twice is reported at its second line. A row
    that ``rejects_card_data`` (the API's card-number test) makes the whole upload a
    ``CardDataRejected`` naming its line only.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    if "value" not in header or not set(header) <= {"value", "reason", "expires_at"}:
        raise InvalidInput(
            f"CSV header must be value,reason,expires_at (got {','.join(header)[:120]!r})",
            fields=["header"],
        )
    reader.fieldnames = header
    entries: list[ListEntry] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, row in _rows(reader):
        if any(rejects_card_data(cell) for cell in row.values() if isinstance(cell, str)):
            raise CardDataRejected(
                f"line {line} holds a card number: nothing was added; lists take the "
                "gateway's instrument token or a BIN, never a card number",
                fields=[f"line {line}"],
            )
        if len(entries) + len(problems) >= MAX_CSV_ROWS:
            raise InvalidInput(f"CSV has more than {MAX_CSV_ROWS} rows: split it", fields=["rows"])
        try:
            entry = make_entry(kind, _entry_body(row), added_by, now)
        except InvalidInput as error:
            problems.append(f"line {line}: {error.message}")
            continue
        if entry.value in seen:
            problems.append(f"line {line}: {entry.value!r} repeats line {seen[entry.value]}")
            continue
        seen[entry.value] = line
        entries.append(entry)
    if problems:
        raise InvalidInput(
            f"{len(problems)} bad row(s), nothing was added: "
            + "; ".join(problems[:50])
            + ("; …" if len(problems) > 50 else ""),
            fields=[p.split(":", 1)[0] for p in problems],
        )
    return entries


def _rows(reader: csv.DictReader[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Non-blank rows with the line they end on (a quoted field may span lines)."""
    for row in reader:
        if any((v or "").strip() for v in row.values() if isinstance(v, str)):
            yield reader.line_num, row


def _entry_body(row: dict[str, str]) -> EntryBody:
    if None in row:
        raise InvalidInput("more cells than the header has columns")
    fields = {k: v.strip() for k, v in row.items() if isinstance(v, str)}
    try:
        return EntryBody.model_validate(
            {
                "value": fields.get("value", ""),
                "reason": fields.get("reason", ""),
                "expires_at": fields.get("expires_at") or None,
            }
        )
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in error.errors(include_input=False, include_url=False)
        ]
        raise InvalidInput("; ".join(problems)) from None


def _bin(value: str, shown: str) -> str:
    match = _BIN.fullmatch(value.replace(" ", ""))
    if match is None:
        raise InvalidInput(
            f"{shown!r} is not a BIN: give 1 to 8 digits (a BIN or a prefix) or a range "
            "like 411111-411199",
            fields=["value"],
        )
    low, high = match.groups()
    if high is None:
        return low
    if len(high) != len(low) or int(high) < int(low):
        raise InvalidInput(
            f"{shown!r} is not a BIN range: both ends need as many digits, low end first",
            fields=["value"],
        )
    return low if high == low else f"{low}-{high}"


def _ip(value: str, shown: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        hint = " (host bits set: give the network address)" if "host bits" in str(error) else ""
        raise InvalidInput(
            f"{shown!r} is not an IP address or CIDR{hint}", fields=["value"]
        ) from None
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
        mapped = network.network_address.ipv4_mapped
        prefix = network.prefixlen - 96
        if prefix >= 0:
            network = ipaddress.ip_network(f"{mapped}/{prefix}")
    single = network.num_addresses == 1
    return str(network.network_address) if single else str(network)
