"""How the Redis store names its keys, how long they live, and how it reads its values back.

Keys (``prefix`` defaults to ``friction:``) and why each lives as long as it does:

    c:{cust}      customer history + seen counterparties/terminals (JSON)   TTL 180 d (SEEN_DAYS)
    b:{cust}      challenge budget, sorted set scored by time               TTL 30 d (> window)
    t:<terminal>  day buckets "<day>:n|f|g|p" (payments, fraud, genuine,    TTL 32 d (BUCKET_DAYS+1)
                  plain fraud)
    m:<merchant>  the same for a merchant                                   TTL 32 d
    pay:<id>      payment record (idempotency and late labels)             TTL 180 d (chargebacks)
    claim:<id>    set by the request deciding a payment, before its record   TTL 10 s (CLAIM_TTL_S)
    dlg:<id>      dialogue record                                           TTL 180 d
    mark:<k>:<id> a fact valid until a time (value)      TTL until that time + 1 d (wall clock)
    pref:{cust}   customer preferences            TTL 400 d after the last change (retention)
    rev:<id>      review item (JSON)                             TTL 400 d (audit of a decision)
    rev:ix:<tenant>:<status|*>:<analyst|*>  sorted set (lex) of "<created µs>:<id>"  TTL 400 d,
                  entries older than that trimmed on each write: list by status/assignee
    open          hash of open dialogues          TTL 180 d, refreshed by every dialogue write
    open:c:{cust} set of a customer's open dialogue ids         TTL 180 d, as ``open``
    open:p:<phone> set of the open dialogue ids texted to a phone  TTL 180 d, as ``open``
    sess:<digest> a customer session (JSON) under its token's digest   TTL its expiry
    outbox        stream "0-<seq>" -> event       TTL 180 d, refreshed by every event added (it
                  lapses only after 180 idle days; the relay drains it within seconds)
    quota:<key>   sorted set of amounts sent in a sliding window (SMS caps) TTL the window + 1 s
    outbox:lease  token of the one relay reading the outbox    TTL 5 s, renewed by each read
    outbox:seq    sequence counter                TTL 180 d, refreshed with the outbox (they
                  lapse together, so a new sequence never starts below a live stream)

Numbers the Lua keeps (times, amounts) travel as Python ``repr`` strings and are stored
as strings, so nothing is rounded by Lua's number formatting; these decoders read them
back exactly, and parity with the Python transitions is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from friction.domain.facts import DAY
from friction.domain.records import LabelUpdate
from friction.scoring.features import (
    BUCKET_DAYS,
    FRAUDS,
    GENUINE,
    PAYMENTS,
    PLAIN_FRAUDS,
    SEEN_DAYS,
    CustomerState,
    EntityState,
    empty_bucket,
)

BUCKET_INDEX = {b"n": PAYMENTS, b"f": FRAUDS, b"g": GENUINE, b"p": PLAIN_FRAUDS}


@dataclass(frozen=True, slots=True)
class KeyTtls:
    """Seconds each kind of key lives after its last write (see the module docstring)."""

    customer: int = int(SEEN_DAYS * DAY)
    budget: int = int(30 * DAY)
    bucket: int = int((BUCKET_DAYS + 1) * DAY)
    payment: int = int(180 * DAY)
    dialogue: int = int(180 * DAY)
    review: int = int(400 * DAY)
    preferences: int = int(400 * DAY)
    ledger: int = int(180 * DAY)
    """Outbox stream, its sequence and the open-dialogue index: refreshed by every write."""


def tag(customer_id: str) -> str:
    """Hash tag that keeps a customer's keys in one Cluster slot (braces are not allowed inside)."""
    return "{" + customer_id.replace("{", "(").replace("}", ")") + "}"


def text(raw: bytes | str) -> str:
    """A reply as text (this client does not decode responses; the stubs allow both)."""
    return raw if isinstance(raw, str) else raw.decode()


def seq(row_id: bytes) -> int:
    return int(row_id.split(b"-", 1)[1])


def customer_state(raw: bytes) -> CustomerState:
    """CustomerState from the script's JSON (numbers kept as exact ``repr`` strings)."""
    if not raw:
        return CustomerState()
    data: dict[str, Any] = orjson.loads(raw)
    # An empty Lua table encodes as ``{}``: iterating a dict then yields nothing.
    return CustomerState(
        history=[(float(t), float(a)) for t, a in (data.get("h") or [])],
        seen_counterparties={k: float(v) for k, v in (data.get("c") or {}).items()},
        seen_terminals={k: float(v) for k, v in (data.get("t") or {}).items()},
    )


def entity_state(flat: list[bytes]) -> EntityState:
    """EntityState from a flat HGETALL reply of ``<day>:<n|f|g|p>`` -> count."""
    days: dict[int, list[int]] = {}
    for i in range(0, len(flat), 2):
        day, kind = flat[i].rsplit(b":", 1)
        days.setdefault(int(day), empty_bucket())[BUCKET_INDEX[kind]] = int(flat[i + 1])
    return EntityState(days=days)


def label_kind(label: LabelUpdate) -> str:
    """The commit script's label code: ``g`` genuine, ``f`` fraud, ``p`` plain fraud (counted
    as ``f`` and ``p``), as ``features.apply_label`` counts them."""
    if not label.is_fraud:
        return "g"
    return "f" if label.unusual_amount else "p"
