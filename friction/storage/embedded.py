"""Embedded store: one SQLite file, a ``FeatureBook`` as the working set.

Why SQLite: it ships with Python, survives a process restart (WAL, synchronous
NORMAL: durable against a crash of the process), and one transaction covers a
decision, its dialogue, its feature-state changes and its outbox events, which
gives the outbox guarantee for free. Why a ``FeatureBook`` in memory: it is the
very object offline training replays, so online and offline features cannot
drift. Entities are loaded lazily and written back in the commit that follows.

All methods are synchronous inside; they run on the event loop because each is
a handful of microseconds of SQLite work with no waiting on a network.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from friction.domain.erasure import (
    Erased,
)
from friction.domain.events import EncodedEvent, encode
from friction.domain.facts import PaymentFacts
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
from friction.ports import CLAIM_TTL_S
from friction.scoring.features import CustomerState, EntityState, FeatureBook
from friction.storage.checkpoint import Checkpointer
from friction.storage.embedded_erasure import plan_erasure
from friction.storage.marks import live_value
from friction.storage.open_index import OpenDialogues
from friction.storage.quotas import MemoryQuotas
from friction.storage.review_index import decode_cursor, encode_cursor, sort_key, stale
from friction.storage.sqlite_schema import (
    INSERT_REVIEW,
    LIST_REVIEWS,
    SWEEP,
    SWEEP_MARKS,
    connect,
    dump_customer,
    load_customer,
    mark_value,
    review_row,
    transaction,
)

log = logging.getLogger(__name__)

CLAIMS_KEPT = 1024
"""Claims kept before expired ones (requests that died undecided) are swept."""


class EmbeddedStore:
    """The ``Store`` port on SQLite, for one process on one machine."""

    def __init__(self, path: Path, working_set: int = 200_000) -> None:
        self._db = connect(path)
        self._checkpoints = Checkpointer(path)  # WAL checkpoints off the event loop
        self._book = FeatureBook()
        self._budgets: dict[str, list[float]] = {}
        self._working_set = working_set  # per kind of state; the rest stays on disk only
        self._dirty: set[tuple[str, str]] = set()
        self._rows: list[tuple[str, str, bytes]] = []
        self._deletes: list[tuple[str, str]] = []
        self._events: list[bytes] = []
        self._reviews: dict[str, ReviewRecord] = {}
        self._flushed: asyncio.Future[None] | None = None
        self._claims: dict[str, float] = {}  # payment id -> claimed until (monotonic)
        self._quotas = MemoryQuotas()
        self._open = OpenDialogues(
            DialogueRecord.model_validate_json(raw) for raw in self._scan("open_dialogue")
        )

    # --- FeatureStore -------------------------------------------------------
    async def observe(
        self, facts: PaymentFacts, budget_window_s: float, payment_id: str
    ) -> Observation | PaymentRecord | None:
        stored = self._get("payment", payment_id)
        if stored is not None:
            return PaymentRecord.model_validate_json(stored)
        now = time.monotonic()
        if self._claims.get(payment_id, 0.0) > now:
            return None
        if len(self._claims) > CLAIMS_KEPT:  # claims of requests that died undecided
            self._claims = {k: t for k, t in self._claims.items() if t > now}
        self._claims[payment_id] = now + CLAIM_TTL_S
        self._load_customer(facts.customer_id)
        self._load_entity("terminal", facts.terminal_id, self._book.terminals)
        self._load_entity("merchant", facts.merchant_id, self._book.merchants)
        features = self._book.observe(facts)
        self._dirty.update(
            {
                ("customer", facts.customer_id),
                ("terminal", facts.terminal_id),
                ("merchant", facts.merchant_id),
            }
        )
        horizon = facts.ts - budget_window_s
        recent = sum(1 for t in self._budget(facts.customer_id) if t > horizon)
        return Observation(features=features, recent_challenges=recent)

    # --- RecordStore --------------------------------------------------------
    async def get_payment(self, payment_id: str) -> PaymentRecord | None:
        raw = self._get("payment", payment_id)
        return None if raw is None else PaymentRecord.model_validate_json(raw)

    async def get_dialogue(self, dialogue_id: str) -> DialogueRecord | None:
        raw = self._get("dialogue", dialogue_id)
        return None if raw is None else DialogueRecord.model_validate_json(raw)

    async def open_dialogues(self) -> list[DialogueRecord]:
        return self._open.all()

    async def open_dialogues_of(self, customer_id: str) -> list[DialogueRecord]:
        return self._open.of(customer_id)

    async def open_dialogues_for_phone(self, phone: str) -> list[DialogueRecord]:
        return self._open.for_phone(phone)

    async def get_preferences(self, customer_id: str) -> Preferences | None:
        raw = self._get("preferences", customer_id)
        return None if raw is None else Preferences.model_validate_json(raw)

    async def get_mark(self, kind: str, key: str, now_ts: float) -> bool:
        return await self.read_mark(kind, key, now_ts) is not None

    async def read_mark(self, kind: str, key: str, now_ts: float) -> str | None:
        return live_value(self._get(f"mark:{kind}", key), now_ts)

    async def preferences_and_marks(
        self, customer_id: str, marks: Sequence[tuple[str, str]], now_ts: float
    ) -> tuple[Preferences | None, list[bool]]:
        live = [
            live_value(self._get(f"mark:{kind}", key), now_ts) is not None for kind, key in marks
        ]
        return await self.get_preferences(customer_id), live

    async def get_review(self, review_id: str) -> ReviewRecord | None:
        row = self._db.execute("SELECT value FROM review WHERE id = ?", (review_id,)).fetchone()
        return None if row is None else ReviewRecord.model_validate_json(row[0])

    async def list_reviews(
        self,
        tenant: str,
        status: ReviewStatus | None,
        assignee: str | None,
        limit: int,
        after: str | None,
    ) -> tuple[list[ReviewRecord], str | None]:
        cursor = decode_cursor(after)
        rows = self._db.execute(LIST_REVIEWS, (tenant, status, assignee, cursor, limit + 1))
        items = [ReviewRecord.model_validate_json(value) for (value,) in rows]
        more = len(items) > limit
        items = items[:limit]
        return items, encode_cursor(sort_key(items[-1])) if more else None

    # --- SessionStore -------------------------------------------------------
    async def save_session(self, digest: str, session: CustomerSession) -> None:
        row = ("session", digest, session.model_dump_json().encode())
        with transaction(self._db):
            self._db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", row)

    async def get_session(self, digest: str) -> CustomerSession | None:
        raw = self._get("session", digest)
        session = None if raw is None else CustomerSession.model_validate_json(raw)
        return session if session is not None and session.expires_at > datetime.now(UTC) else None

    # --- UnitOfWork ---------------------------------------------------------
    async def commit(self, change: Change) -> None:
        """Apply in memory now; persist with every other commit of this loop tick.

        Group commit: concurrent requests share one SQLite transaction (one fsync
        point instead of one each), and each caller returns only once its rows are
        written — a response never promises what the file does not hold.
        """
        self._stage(change)
        if self._flushed is None:
            self._flushed = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(self._flush)
        await asyncio.shield(self._flushed)

    def _stage(self, change: Change) -> None:
        if change.review is not None:  # checked first: a stale write stages nothing
            self._check_version(change.review)
            self._reviews[change.review.id] = change.review
        for update in change.labels:
            self._load_entity("terminal", update.terminal_id, self._book.terminals)
            self._load_entity("merchant", update.merchant_id, self._book.merchants)
            self._book.label(
                update.merchant_id,
                update.terminal_id,
                update.payment_day,
                update.is_fraud,
                update.unusual_amount,
            )
            self._dirty.update({("terminal", update.terminal_id), ("merchant", update.merchant_id)})
        rows = self._rows
        if change.payment is not None:
            record = change.payment
            self._claims.pop(record.key, None)
            rows.append(("payment", record.key, record.model_dump_json().encode()))
        if change.challenge is not None:
            customer_id, ts = change.challenge
            self._budget(customer_id).append(ts)
            rows.append(("budget", customer_id, orjson.dumps(self._budget(customer_id)[-50:])))
        rows.extend((f"mark:{m.kind}", m.key, mark_value(m)) for m in change.marks)
        if change.preferences is not None:
            customer_id, preferences = change.preferences
            rows.append(("preferences", customer_id, preferences.model_dump_json().encode()))
        if change.dialogue is not None:
            self._stage_dialogue(change.dialogue)
        self._events.extend(encode(e) for e in change.events)

    def _flush(self) -> None:
        """Write everything staged since the last flush in one transaction."""
        done, self._flushed = self._flushed, None
        rows = [*self._rows, *self._dirty_rows()]
        deletes, events = self._deletes, self._events
        reviews = [review_row(r) for r in self._reviews.values()]
        self._rows, self._deletes, self._events, self._reviews = [], [], [], {}
        self._dirty.clear()
        try:
            with transaction(self._db):  # one transaction: records, state, reviews, outbox
                self._db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", rows)
                self._db.executemany(INSERT_REVIEW, reviews)
                self._db.executemany("DELETE FROM kv WHERE ns = ? AND key = ?", deletes)
                self._db.executemany(
                    "INSERT INTO outbox (event) VALUES (?)", [(e,) for e in events]
                )
        except sqlite3.Error as error:
            if done is not None:
                done.set_exception(error)
            return
        if done is not None:
            done.set_result(None)
        self._bound_working_set()

    def _bound_working_set(self) -> None:
        """Forget the earliest-loaded states beyond the cap; they are reloaded on next use.

        Safe right after a flush only: every state is then on disk, nothing is dirty.
        A quarter more than the excess goes at once so that this runs rarely.
        """
        book = self._book
        for cache in (book.customers, book.terminals, book.merchants, self._budgets):
            excess = len(cache) - self._working_set
            if excess > 0:
                for key in list(itertools.islice(cache, excess + self._working_set // 4)):
                    del cache[key]

    # --- Quotas -------------------------------------------------------------
    async def take_quotas(self, quotas: Sequence[Quota], now_ts: float) -> str | None:
        return await self._quotas.take_quotas(quotas, now_ts)

    # --- Outbox -------------------------------------------------------------
    async def pending(self, limit: int) -> list[OutboxEntry]:
        cursor = self._db.execute("SELECT seq, event FROM outbox ORDER BY seq LIMIT ?", (limit,))
        return [OutboxEntry(seq, EncodedEvent.from_json(raw)) for seq, raw in cursor]

    async def ack(self, seqs: Sequence[int]) -> None:
        """Delete acknowledged events: a run of consecutive seqs (the usual batch) as one range."""
        if not seqs:
            return
        low, high = min(seqs), max(seqs)
        with transaction(self._db):
            if high - low + 1 == len(set(seqs)):
                self._db.execute("DELETE FROM outbox WHERE seq BETWEEN ? AND ?", (low, high))
            else:
                self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])

    async def close(self) -> None:
        self._checkpoints.close()
        self._db.close()

    # --- Retention ----------------------------------------------------------
    async def erase_customer(self, customer_id: str, pseudonym: str) -> Erased:
        """One transaction: rewrite the customer's records, delete their state and marks."""
        if self._flushed is not None:  # staged writes land first, then get scrubbed
            await asyncio.shield(self._flushed)
        plan = plan_erasure(self._db, customer_id, pseudonym)
        for dialogue in plan.open_dialogues(self._open):
            self._open.remove(dialogue.id)
            self._open.add(dialogue)
        self._book.customers.pop(customer_id, None)
        self._budgets.pop(customer_id, None)
        gone = plan.apply(self._db)
        await self._checkpoint()
        return Erased(plan.payments, plan.dialogues, len(plan.reviews), gone)

    async def _checkpoint(self, attempts: int = 50) -> None:
        """Copy the WAL into the database and truncate it: it still holds every earlier
        version of the erased pages. A reader in another process (an analyst's notebook)
        can block it for a moment: retried for ~5 s, then logged."""
        for _ in range(attempts):
            busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return
            await asyncio.sleep(0.1)
        log.error("erasure: the WAL checkpoint stayed blocked by a reader; old pages remain")

    async def sweep(self, now_ts: float) -> int:
        """Delete records past retention (payments/dialogues 180 d, reviews 400 d, marks)."""
        if self._flushed is not None:
            await asyncio.shield(self._flushed)
        deleted = 0
        with transaction(self._db):
            for sql, days in SWEEP:
                horizon = datetime.fromtimestamp(now_ts - days * 86_400, UTC).isoformat()
                deleted += self._db.execute(sql, (horizon.replace("+00:00", "Z"),)).rowcount
            deleted += self._db.execute(SWEEP_MARKS, (now_ts - 86_400,)).rowcount
        for gone in [d.id for d in self._open.all() if not self._get("open_dialogue", d.id)]:
            self._open.remove(gone)
        return deleted

    # --- internals ----------------------------------------------------------
    def _check_version(self, review: ReviewRecord) -> None:
        """Optimistic concurrency: the write must build on the newest stored (or staged) copy."""
        staged = self._reviews.get(review.id)
        if staged is not None:
            have = staged.version
        else:
            row = self._db.execute(
                "SELECT version FROM review WHERE id = ?", (review.id,)
            ).fetchone()
            have = 0 if row is None else int(row[0])
        if have != review.version - 1:
            raise stale(review, have)

    def _stage_dialogue(self, dialogue: DialogueRecord) -> None:
        raw = dialogue.model_dump_json().encode()
        self._rows.append(("dialogue", dialogue.id, raw))
        self._open.remove(dialogue.id)
        if dialogue.is_open:
            self._open.add(dialogue)
            self._rows.append(("open_dialogue", dialogue.id, raw))
        else:
            self._deletes.append(("open_dialogue", dialogue.id))

    def _dirty_rows(self) -> list[tuple[str, str, bytes]]:
        rows = []
        for ns, key in self._dirty:
            if ns == "customer":
                rows.append((ns, key, dump_customer(self._book.customers[key])))
            else:
                entities = self._book.terminals if ns == "terminal" else self._book.merchants
                rows.append((ns, key, orjson.dumps(list(entities[key].days.items()))))
        return rows

    def _get(self, ns: str, key: str) -> bytes | None:
        row = self._db.execute(
            "SELECT value FROM kv WHERE ns = ? AND key = ?", (ns, key)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def _scan(self, ns: str) -> list[bytes]:
        return [bytes(r[0]) for r in self._db.execute("SELECT value FROM kv WHERE ns = ?", (ns,))]

    def _budget(self, customer_id: str) -> list[float]:
        budget = self._budgets.get(customer_id)
        if budget is None:
            raw = self._get("budget", customer_id)
            budget = self._budgets[customer_id] = [] if raw is None else orjson.loads(raw)
        return budget

    def _load_customer(self, customer_id: str) -> None:
        if customer_id in self._book.customers:
            return
        raw = self._get("customer", customer_id)
        self._book.customers[customer_id] = CustomerState() if raw is None else load_customer(raw)

    def _load_entity(self, ns: str, key: str, into: dict[str, EntityState]) -> None:
        if key in into:
            return
        raw = self._get(ns, key)
        days: list[Any] = [] if raw is None else orjson.loads(raw)
        # Buckets written before plain frauds were counted hold three counts.
        into[key] = EntityState(days={int(d): [*b, 0][:4] for d, b in days})
