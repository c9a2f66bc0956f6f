"""Redis store: the ``Store`` port shared by many scoring replicas.

Why Lua: a payment's features need the state *before* it and must record it,
atomically and in one network round trip (the latency budget is milliseconds).
``observe`` runs one script (EVALSHA) that returns the customer's, terminal's
and merchant's pre-payment state and applies exactly ``apply_payment``; Python
then computes the features with ``friction.scoring.features.compute``, the very
code training uses. ``commit`` is a second script, so records, budget, label
effects and outbox events land all-or-nothing.

Keys (``prefix`` defaults to ``friction:``) and why each lives as long as it does:

    c:{cust}      customer history + seen counterparties/terminals (JSON)   TTL 180 d (SEEN_DAYS)
    b:{cust}      challenge budget, sorted set scored by time               TTL 30 d (> window)
    t:<terminal>  day buckets "<day>:n|f|g" (payments, fraud, genuine)      TTL 32 d (BUCKET_DAYS+1)
    m:<merchant>  the same for a merchant                                   TTL 32 d
    pay:<id>      payment record (idempotency and late labels)             TTL 180 d (chargebacks)
    dlg:<id>      dialogue record                                           TTL 180 d
    mark:<k>:<id> a fact valid until a time (value)      TTL until that time + 1 d (wall clock)
    pref:{cust}   customer preferences       no TTL: a choice (an SMS opt-out) must not lapse
    open          hash of open dialogues          no TTL: an entry leaves when its dialogue closes
    outbox        stream "0-<seq>" -> event       no TTL: events must never expire unpublished
    outbox:seq    sequence counter                no TTL: must only grow

Numbers the Lua keeps (times, amounts) travel as Python ``repr`` strings and are
stored as strings, so nothing is rounded by Lua's number formatting and parity
with the Python transitions is exact. The customer and budget keys share the
``{customer}`` hash tag; terminal and merchant keys are shared by all customers,
so the script needs a single Redis primary (not Cluster): see docs/decisions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
from pydantic import TypeAdapter
from redis.asyncio import Redis

from friction.records import (
    AnyEvent,
    Change,
    DialogueRecord,
    Observation,
    OutboxEntry,
    PaymentRecord,
    Preferences,
)
from friction.scoring.features import (
    BUCKET_DAYS,
    DAY,
    HISTORY_CAP,
    HISTORY_DAYS,
    SEEN_DAYS,
    CustomerState,
    EntityState,
    PaymentFacts,
    Snapshot,
    compute,
)

_EVENT: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)
_BUCKET_INDEX = {b"n": 0, b"f": 1, b"g": 2}
BUDGET_KEEP = 50

# KEYS: customer, terminal, merchant, budget.
# ARGV: ts, amount, counterparty, terminal id, day, history horizon, seen horizon,
#       history cap, oldest kept day, budget horizon, customer ttl, bucket ttl.
# Returns the state before the payment: {customer JSON or '', terminal hash, merchant hash,
# challenges after the budget horizon}, and applies ``apply_payment``.
OBSERVE_LUA = """
local ts, amount, cp, tid, day = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local history_horizon, seen_horizon = tonumber(ARGV[6]), tonumber(ARGV[7])
local cap, oldest_day = tonumber(ARGV[8]), tonumber(ARGV[9])

local raw = redis.call('GET', KEYS[1])
local state
if raw then state = cjson.decode(raw) else raw = ''; state = {h = {}, c = {}, t = {}} end
local h = state.h
h[#h + 1] = {ts, amount}
local kept = {}
for _, p in ipairs(h) do
  if tonumber(p[1]) > history_horizon then kept[#kept + 1] = p end
end
local history = {}
for i = math.max(1, #kept - cap + 1), #kept do history[#history + 1] = kept[i] end
state.h = history
state.c[cp] = ts
state.t[tid] = ts
for _, seen in ipairs({state.c, state.t}) do
  for k, v in pairs(seen) do
    if tonumber(v) < seen_horizon then seen[k] = nil end
  end
end
redis.call('SET', KEYS[1], cjson.encode(state), 'EX', ARGV[11])

local function bucket(key)
  local flat = redis.call('HGETALL', key)
  redis.call('HINCRBY', key, day .. ':n', 1)
  local stale = {}
  for i = 1, #flat, 2 do
    local d = tonumber(string.match(flat[i], '^(-?%d+):'))
    if d <= oldest_day then stale[#stale + 1] = flat[i] end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  redis.call('EXPIRE', key, ARGV[12])
  return flat
end

local terminal = bucket(KEYS[2])
local merchant = bucket(KEYS[3])
local recent = redis.call('ZCOUNT', KEYS[4], '(' .. ARGV[10], '+inf')
return {raw, terminal, merchant, recent}
"""

# KEYS: outbox, seq, open index, payment, dialogue, budget, preferences,
#       then (terminal, merchant) per label, then one key per mark.
# ARGV: 1 payment JSON, 2 dialogue JSON, 3 dialogue id, 4 dialogue open (1/0), 5 challenge ts,
#       6 budget keep, 7-10 ttls (payment, dialogue, budget, bucket), 11 labels L, 12 marks M,
#       13 preferences JSON, then L x (day, n|f|g), M x (until, ttl), then the events' JSON.
# ('' = nothing to write.) Fallible writes (stream IDs) go first: a failure leaves nothing done.
COMMIT_LUA = """
local n_labels, n_marks = tonumber(ARGV[11]), tonumber(ARGV[12])
local label_arg = 14
local mark_arg = label_arg + 2 * n_labels
for i = mark_arg + 2 * n_marks, #ARGV do
  local seq = redis.call('INCR', KEYS[2])
  redis.call('XADD', KEYS[1], '0-' .. seq, 'e', ARGV[i])
end
if ARGV[1] ~= '' then redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[7]) end
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[5], ARGV[2], 'EX', ARGV[8])
  if ARGV[4] == '1' then
    redis.call('HSET', KEYS[3], ARGV[3], ARGV[2])
  else
    redis.call('HDEL', KEYS[3], ARGV[3])
  end
end
if ARGV[5] ~= '' then
  local id = redis.call('INCR', KEYS[2])
  redis.call('ZADD', KEYS[6], ARGV[5], ARGV[5] .. ':' .. id)
  redis.call('ZREMRANGEBYRANK', KEYS[6], 0, -tonumber(ARGV[6]) - 1)
  redis.call('EXPIRE', KEYS[6], ARGV[9])
end
if ARGV[13] ~= '' then redis.call('SET', KEYS[7], ARGV[13]) end
for i = 0, n_labels - 1 do
  local field = ARGV[label_arg + 2 * i] .. ':' .. ARGV[label_arg + 2 * i + 1]
  for _, key in ipairs({KEYS[8 + 2 * i], KEYS[9 + 2 * i]}) do
    redis.call('HINCRBY', key, field, 1)
    redis.call('EXPIRE', key, ARGV[10])
  end
end
for i = 0, n_marks - 1 do
  local key = KEYS[8 + 2 * n_labels + i]
  redis.call('SET', key, ARGV[mark_arg + 2 * i], 'EX', ARGV[mark_arg + 2 * i + 1])
end
return 0
"""
MARK_GRACE_S = int(DAY)


@dataclass(frozen=True, slots=True)
class KeyTtls:
    """Seconds each kind of key lives after its last write (see the module docstring)."""

    customer: int = int(SEEN_DAYS * DAY)
    budget: int = int(30 * DAY)
    bucket: int = int((BUCKET_DAYS + 1) * DAY)
    payment: int = int(180 * DAY)
    dialogue: int = int(180 * DAY)


class RedisStore:
    """The ``Store`` port on one Redis primary (``redis.asyncio`` with hiredis)."""

    def __init__(
        self, redis: Redis, prefix: str = "friction:", ttls: KeyTtls | None = None
    ) -> None:
        self._redis = redis
        self._p = prefix
        self._ttl = ttls or KeyTtls()
        self._observe = redis.register_script(OBSERVE_LUA)
        self._commit = redis.register_script(COMMIT_LUA)

    @classmethod
    def from_url(cls, url: str, prefix: str = "friction:") -> RedisStore:
        """A store on ``redis://host:port/db`` (connections open lazily, on first use)."""
        return cls(Redis.from_url(url, decode_responses=False), prefix)

    # --- FeatureStore -------------------------------------------------------
    async def observe(self, facts: PaymentFacts, budget_window_s: float) -> Observation:
        """Pre-payment state and the ``apply_payment`` transition in one EVALSHA."""
        p, cust = self._p, _tag(facts.customer_id)
        keys = [f"{p}c:{cust}", f"{p}t:{facts.terminal_id}", f"{p}m:{facts.merchant_id}"]
        keys.append(f"{p}b:{cust}")
        args: list[str | int] = [
            repr(facts.ts),
            repr(facts.amount),
            facts.counterparty_id,
            facts.terminal_id,
            facts.day,
            repr(facts.ts - HISTORY_DAYS * DAY),
            repr(facts.ts - SEEN_DAYS * DAY),
            HISTORY_CAP,
            facts.day - BUCKET_DAYS,
            repr(facts.ts - budget_window_s),
            self._ttl.customer,
            self._ttl.bucket,
        ]
        raw, terminal, merchant, recent = await self._observe(keys=keys, args=args)
        before = Snapshot(_customer(raw), _entity(terminal), _entity(merchant))
        return Observation(features=compute(facts, before), recent_challenges=int(recent))

    # --- RecordStore --------------------------------------------------------
    async def get_payment(self, payment_id: str) -> PaymentRecord | None:
        raw = await self._redis.get(f"{self._p}pay:{payment_id}")
        return None if raw is None else PaymentRecord.model_validate_json(raw)

    async def get_dialogue(self, dialogue_id: str) -> DialogueRecord | None:
        raw = await self._redis.get(f"{self._p}dlg:{dialogue_id}")
        return None if raw is None else DialogueRecord.model_validate_json(raw)

    async def open_dialogues(self) -> list[DialogueRecord]:
        values = await self._redis.hvals(f"{self._p}open")
        return [DialogueRecord.model_validate_json(v) for v in values]

    async def get_preferences(self, customer_id: str) -> Preferences | None:
        raw = await self._redis.get(f"{self._p}pref:{_tag(customer_id)}")
        return None if raw is None else Preferences.model_validate_json(raw)

    async def get_mark(self, kind: str, key: str, now_ts: float) -> bool:
        raw = await self._redis.get(f"{self._p}mark:{kind}:{key}")
        return raw is not None and float(raw) > now_ts

    # --- UnitOfWork ---------------------------------------------------------
    async def commit(self, change: Change) -> None:
        """Records, budget, label effects, marks and outbox events in one atomic script."""
        p, ttl = self._p, self._ttl
        payment_id, payment_json = "", ""
        if change.payment is not None:
            payment_id, payment_json = change.payment[0], change.payment[1].model_dump_json()
        dialogue = change.dialogue
        budget_key, challenge_ts = f"{p}b:none", ""
        if change.challenge is not None:
            budget_key = f"{p}b:{_tag(change.challenge[0])}"
            challenge_ts = repr(change.challenge[1])
        pref_key, pref_json = f"{p}pref:none", ""
        if change.preferences is not None:
            pref_key = f"{p}pref:{_tag(change.preferences[0])}"
            pref_json = change.preferences[1].model_dump_json()
        keys = [f"{p}outbox", f"{p}outbox:seq", f"{p}open", f"{p}pay:{payment_id}"]
        keys += [f"{p}dlg:{dialogue.id if dialogue else ''}", budget_key, pref_key]
        args: list[str | int] = [payment_json, "", "", 0, challenge_ts, BUDGET_KEEP]
        if dialogue is not None:
            args[1:4] = [dialogue.model_dump_json(), dialogue.id, int(dialogue.is_open)]
        args += [ttl.payment, ttl.dialogue, ttl.budget, ttl.bucket]
        args += [len(change.labels), len(change.marks), pref_json]
        for label in change.labels:
            keys += [f"{p}t:{label.terminal_id}", f"{p}m:{label.merchant_id}"]
            args += [label.payment_day, "f" if label.is_fraud else "g"]
        now = time.time()
        for mark in change.marks:
            # ``until`` decides (see get_mark); the TTL only collects the key some time after.
            keys.append(f"{p}mark:{mark.kind}:{mark.key}")
            args += [repr(mark.until), int(max(mark.until - now, 0.0)) + MARK_GRACE_S]
        args += [event.model_dump_json(by_alias=True) for event in change.events]
        await self._commit(keys=keys, args=args)

    # --- Outbox -------------------------------------------------------------
    async def pending(self, limit: int) -> list[OutboxEntry]:
        """Oldest unacknowledged events first; the stream ID ``0-<seq>`` carries the order."""
        reply = await self._redis.xrange(f"{self._p}outbox", count=limit)
        rows = cast(list[tuple[bytes, dict[bytes, bytes]]], reply or [])  # decode_responses=False
        return [OutboxEntry(_seq(row_id), _EVENT.validate_json(f[b"e"])) for row_id, f in rows]

    async def ack(self, seqs: Sequence[int]) -> None:
        if seqs:
            await self._redis.xdel(f"{self._p}outbox", *[f"0-{s}" for s in seqs])

    async def close(self) -> None:
        await self._redis.aclose()


def _tag(customer_id: str) -> str:
    """Hash tag that keeps a customer's keys in one Cluster slot (braces are not allowed inside)."""
    return "{" + customer_id.replace("{", "(").replace("}", ")") + "}"


def _seq(row_id: bytes) -> int:
    return int(row_id.split(b"-", 1)[1])


def _customer(raw: bytes) -> CustomerState:
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


def _entity(flat: list[bytes]) -> EntityState:
    """EntityState from a flat HGETALL reply of ``<day>:<n|f|g>`` -> count."""
    days: dict[int, list[int]] = {}
    for i in range(0, len(flat), 2):
        day, kind = flat[i].rsplit(b":", 1)
        days.setdefault(int(day), [0, 0, 0])[_BUCKET_INDEX[kind]] = int(flat[i + 1])
    return EntityState(days=days)
