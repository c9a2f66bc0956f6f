"""Redis store: the ``Store`` port shared by many scoring replicas.

Why Lua: a payment's features need the state *before* it and must record it,
atomically and in one network round trip (the latency budget is milliseconds).
``observe`` runs one script (EVALSHA) that returns the customer's, terminal's
and merchant's pre-payment state and applies exactly ``apply_payment``; Python
then computes the features with ``friction.scoring.features.compute``, the very
code training uses. ``commit`` is a second script, so records, budget, label
effects and outbox events land all-or-nothing.

Keys, their lifetimes and the encoding of values: ``friction.storage.redis_keys``.
The customer and budget keys share the ``{customer}`` hash tag; terminal and merchant
keys are shared by all customers, so the script needs a single Redis primary (not
Cluster): see docs/decisions.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from friction.aio import cancelled
from friction.domain.erasure import Erased
from friction.domain.events import EncodedEvent, encode
from friction.domain.facts import DAY, PaymentFacts
from friction.domain.records import (
    Change,
    CustomerSession,
    DialogueRecord,
    Observation,
    OutboxEntry,
    PaymentRecord,
    Preferences,
    Quota,
    ReviewRecord,
    ReviewStatus,
)
from friction.domain.tenancy import tenant_of
from friction.errors import StoreUnavailable
from friction.ports import CLAIM_TTL_S
from friction.scoring.features import (
    BUCKET_DAYS,
    HISTORY_CAP,
    HISTORY_DAYS,
    SEEN_DAYS,
    Snapshot,
    compute,
)
from friction.storage.marks import live_value
from friction.storage.redis_erasure import erase
from friction.storage.redis_keys import (
    KeyTtls,
    customer_state,
    entity_state,
    label_kind,
    seq,
    tag,
    text,
)
from friction.storage.redis_pool import WAIT_SHARE, PoolWatch, WatchedPool, pool_size
from friction.storage.redis_scripts import (
    COMMIT_LUA,
    OBSERVE_LUA,
    PENDING_LUA,
    QUOTAS_LUA,
    RELEASE_LUA,
)
from friction.storage.review_index import decode_cursor, encode_cursor, sort_key, stale

T = TypeVar("T")
log = logging.getLogger(__name__)
CLOSE_SECONDS = 2.0

BUDGET_KEEP = 50

MARK_GRACE_S = int(DAY)
OUTBOX_LEASE_MS = 5_000
"""Far longer than one publish, so a batch is never read by two relays; short, so events wait
at most this long after their relay died (a clean shutdown hands the lease back at once)."""


def _unavailable_on_connection_loss(cls: type[T]) -> type[T]:
    """Translate lost connections and time-outs into ``StoreUnavailable`` at the boundary.

    Callers (the scorer's degraded mode) then handle one domain error whatever the adapter.
    """
    for name, method in list(vars(cls).items()):
        if name.startswith("_") or not inspect.iscoroutinefunction(method):
            continue
        setattr(cls, name, _translated(method))
    return cls


def _translated(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            if cancelled():  # redis-py turned our cancellation into a connection error
                raise asyncio.CancelledError from error
            raise StoreUnavailable(f"Redis unavailable: {type(error).__name__}") from error

    return call


@_unavailable_on_connection_loss
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
        self._pending = redis.register_script(PENDING_LUA)
        self._release = redis.register_script(RELEASE_LUA)
        self._quotas = redis.register_script(QUOTAS_LUA)
        self._relay_token = uuid.uuid4().hex

    @classmethod
    def from_url(
        cls,
        url: str,
        prefix: str = "friction:",
        timeout_s: float = 0.5,
        max_inflight: int = 256,
        watch: PoolWatch | None = None,
    ) -> RedisStore:
        """A store on ``redis://host:port/db`` (connections open lazily, on first use), its
        pool sized for ``max_inflight`` requests (``friction.storage.redis_pool``)."""
        pool = WatchedPool.from_url(
            url,
            watch=watch or PoolWatch(),
            max_connections=pool_size(max_inflight),
            timeout=timeout_s * WAIT_SHARE,
            decode_responses=False,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
        )
        return cls(Redis.from_pool(pool), prefix)

    async def warm(self) -> None:
        """Open the pool's connections before the first request (``WatchedPool.fill``)."""
        pool = self._redis.connection_pool
        if isinstance(pool, WatchedPool):
            opened = await pool.fill()
            log.info("redis: %d of %d connections open", opened, pool.max_connections)

    # --- FeatureStore -------------------------------------------------------
    async def observe(
        self, facts: PaymentFacts, budget_window_s: float, payment_id: str
    ) -> Observation | PaymentRecord | None:
        """Claim, pre-payment state and the ``apply_payment`` transition in one EVALSHA."""
        p, cust = self._p, tag(facts.customer_id)
        keys = [f"{p}c:{cust}", f"{p}t:{facts.terminal_id}", f"{p}m:{facts.merchant_id}"]
        keys += [f"{p}b:{cust}", f"{p}pay:{payment_id}", f"{p}claim:{payment_id}"]
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
            CLAIM_TTL_S,
        ]
        answer = await self._observe(keys=keys, args=args)
        if answer == 0:
            return None
        if len(answer) == 1:
            return PaymentRecord.model_validate_json(answer[0])
        raw, terminal, merchant, recent = answer
        before = Snapshot(customer_state(raw), entity_state(terminal), entity_state(merchant))
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

    async def open_dialogues_of(self, customer_id: str) -> list[DialogueRecord]:
        return await self._open_in(f"{self._p}open:c:{tag(customer_id)}")

    async def open_dialogues_for_phone(self, phone: str) -> list[DialogueRecord]:
        return await self._open_in(f"{self._p}open:p:{phone}")

    async def _open_in(self, index: str) -> list[DialogueRecord]:
        """The open dialogues an index set names (an id closed meanwhile is skipped)."""
        ids = await self._redis.smembers(index)
        if not ids:
            return []
        values = await self._redis.hmget(f"{self._p}open", list(ids))
        return [DialogueRecord.model_validate_json(v) for v in values if v is not None]

    async def get_preferences(self, customer_id: str) -> Preferences | None:
        raw = await self._redis.get(f"{self._p}pref:{tag(customer_id)}")
        return None if raw is None else Preferences.model_validate_json(raw)

    async def get_mark(self, kind: str, key: str, now_ts: float) -> bool:
        return await self.read_mark(kind, key, now_ts) is not None

    async def read_mark(self, kind: str, key: str, now_ts: float) -> str | None:
        return live_value(await self._redis.get(f"{self._p}mark:{kind}:{key}"), now_ts)

    async def preferences_and_marks(
        self, customer_id: str, marks: Sequence[tuple[str, str]], now_ts: float
    ) -> tuple[Preferences | None, list[bool]]:
        """One MGET for the preferences and every mark."""
        keys = [f"{self._p}pref:{tag(customer_id)}"]
        keys += [f"{self._p}mark:{kind}:{key}" for kind, key in marks]
        raw, *found = await self._redis.mget(keys)
        preferences = None if raw is None else Preferences.model_validate_json(raw)
        return preferences, [live_value(mark, now_ts) is not None for mark in found]

    async def get_review(self, review_id: str) -> ReviewRecord | None:
        raw = await self._redis.get(f"{self._p}rev:{review_id}")
        return None if raw is None else ReviewRecord.model_validate_json(raw)

    async def list_reviews(
        self,
        tenant: str,
        status: ReviewStatus | None,
        assignee: str | None,
        limit: int,
        after: str | None,
    ) -> tuple[list[ReviewRecord], str | None]:
        """One ZRANGE BYLEX on the tenant's (status, assignee) index, one MGET of the items."""
        index = f"{self._p}rev:ix:{tenant}:{status or '*'}:{assignee or '*'}"
        start = decode_cursor(after)
        found = await self._redis.zrangebylex(
            index, f"({start}" if start else "-", "+", start=0, num=limit + 1
        )
        keys = [text(m) for m in found[:limit]]
        raws = await self._redis.mget([f"{self._p}rev:{k.split(':', 1)[1]}" for k in keys])
        items = [ReviewRecord.model_validate_json(r) for r in raws if r is not None]
        return items, encode_cursor(keys[-1]) if len(found) > limit else None

    # --- SessionStore -------------------------------------------------------
    async def save_session(self, digest: str, session: CustomerSession) -> None:
        ttl_ms = int((session.expires_at.timestamp() - time.time()) * 1000)
        if ttl_ms > 0:
            await self._redis.set(f"{self._p}sess:{digest}", session.model_dump_json(), px=ttl_ms)

    async def get_session(self, digest: str) -> CustomerSession | None:
        raw = await self._redis.get(f"{self._p}sess:{digest}")
        session = None if raw is None else CustomerSession.model_validate_json(raw)
        live = session is not None and session.expires_at.timestamp() > time.time()
        return session if live else None

    # --- UnitOfWork ---------------------------------------------------------
    async def commit(self, change: Change) -> None:
        """Records, budget, label effects, marks and outbox events in one atomic script."""
        p, ttl = self._p, self._ttl
        payment_id, payment_json = "", ""
        if change.payment is not None:
            payment_id, payment_json = change.payment.key, change.payment.model_dump_json()
        dialogue = change.dialogue
        budget_key, challenge_ts = f"{p}b:none", ""
        if change.challenge is not None:
            budget_key = f"{p}b:{tag(change.challenge[0])}"
            challenge_ts = repr(change.challenge[1])
        pref_key, pref_json = f"{p}pref:none", ""
        if change.preferences is not None:
            pref_key = f"{p}pref:{tag(change.preferences[0])}"
            pref_json = change.preferences[1].model_dump_json()
        review_key, review_args = self._review_args(change.review)
        keys = [f"{p}outbox", f"{p}outbox:seq", f"{p}open", f"{p}pay:{payment_id}"]
        keys += [f"{p}dlg:{dialogue.id if dialogue else ''}", budget_key, pref_key, review_key]
        args: list[str | int | bytes] = [payment_json, "", "", 0, challenge_ts, BUDGET_KEEP]
        if dialogue is not None:
            args[1:4] = [dialogue.model_dump_json(), dialogue.id, int(dialogue.is_open)]
        args += [ttl.payment, ttl.dialogue, ttl.budget, ttl.bucket]
        args += [len(change.labels), len(change.marks), pref_json, *review_args]
        args += [ttl.preferences, ttl.ledger, *self._open_index_args(dialogue)]
        for label in change.labels:
            keys += [f"{p}t:{label.terminal_id}", f"{p}m:{label.merchant_id}"]
            args += [label.payment_day, label_kind(label)]
        now = time.time()
        for mark in change.marks:
            # ``until`` decides (see get_mark); the TTL only collects the key some time after.
            keys.append(f"{p}mark:{mark.kind}:{mark.key}")
            value = f"{mark.until!r} {mark.value}".rstrip()
            args += [value, int(max(mark.until - now, 0.0)) + MARK_GRACE_S]
        args += [encode(event) for event in change.events]  # the bytes the buses will write
        try:
            await self._commit(keys=keys, args=args)
        except ResponseError as error:
            if change.review is None or not str(error).startswith("STALE_REVIEW"):
                raise
            raise stale(change.review, int(str(error).split()[1])) from None

    def _open_index_args(self, dialogue: DialogueRecord | None) -> list[str]:
        """ARGV 24-25 of the commit script: the dialogue's customer and phone index keys."""
        if dialogue is None:
            return ["", ""]
        phone = f"{self._p}open:p:{dialogue.phone}" if dialogue.phone else ""
        return [f"{self._p}open:c:{tag(dialogue.customer_id)}", phone]

    def _review_args(self, review: ReviewRecord | None) -> tuple[str, list[str | int]]:
        """The review key and ARGV 14-21 of the commit script ('' = no review to write)."""
        if review is None:
            return f"{self._p}rev:none", ["", 0, "", "", "", 0, "", ""]
        horizon = int((time.time() - self._ttl.review) * 1_000_000)
        return f"{self._p}rev:{review.id}", [
            review.model_dump_json(),
            review.version,
            sort_key(review),
            review.status,
            review.assignee or "",
            self._ttl.review,
            f"{self._p}rev:ix:{tenant_of(review.id)}:",
            f"{max(horizon, 0):017d}",
        ]

    # --- Outbox -------------------------------------------------------------
    async def take_quotas(self, quotas: Sequence[Quota], now_ts: float) -> str | None:
        """All quotas checked and recorded in one script, so replicas share every cap."""
        if not quotas:
            return None
        args: list[str | float] = [repr(now_ts), uuid.uuid4().hex]
        for quota in quotas:
            args += [quota.name, repr(quota.amount), repr(quota.limit), repr(quota.window_s)]
        keys = [f"{self._p}quota:{quota.key}" for quota in quotas]
        refused = await self._quotas(keys=keys, args=args)
        return refused.decode() if refused else None

    async def pending(self, limit: int) -> list[OutboxEntry]:
        """Oldest unacknowledged events first; the stream ID ``0-<seq>`` carries the order.

        Empty while another relay (another replica or worker) holds the outbox lease.
        """
        keys = [f"{self._p}outbox", f"{self._p}outbox:lease"]
        reply = await self._pending(keys=keys, args=[self._relay_token, OUTBOX_LEASE_MS, limit])
        rows = cast(list[tuple[bytes, list[bytes]]], reply)  # [id, [b"e", event JSON]]
        return [OutboxEntry(seq(row_id), EncodedEvent.from_json(f[1])) for row_id, f in rows]

    async def ack(self, seqs: Sequence[int]) -> None:
        if seqs:
            await self._redis.xdel(f"{self._p}outbox", *[f"0-{s}" for s in seqs])

    async def close(self) -> None:
        """Hand back the outbox lease, close the pool; a dead server must not hang shutdown."""
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                with contextlib.suppress(RedisError, OSError):
                    await self._release(keys=[f"{self._p}outbox:lease"], args=[self._relay_token])
                await self._redis.aclose()
        except (TimeoutError, RedisError) as error:  # one of the pool's sockets slow to close
            log.warning("redis connections not all closed (%s); abandoned", type(error).__name__)

    # --- Retention ----------------------------------------------------------
    async def erase_customer(self, customer_id: str, pseudonym: str) -> Erased:
        """SCAN for the customer's records and scrub them (``friction.storage.redis_erasure``)."""
        return await erase(self._redis, self._p, tag(customer_id), customer_id, pseudonym)

    async def sweep(self, now_ts: float) -> int:
        """Nothing to do: every key carries a TTL (see the table above)."""
        return 0
