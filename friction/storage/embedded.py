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
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from pydantic import TypeAdapter

from friction.records import (
    AnyEvent,
    Change,
    DialogueRecord,
    Observation,
    OutboxEntry,
    PaymentRecord,
    Preferences,
)
from friction.scoring.features import CustomerState, EntityState, FeatureBook, PaymentFacts

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                               PRIMARY KEY (ns, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event BLOB NOT NULL);
"""
_EVENT: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


class EmbeddedStore:
    """The ``Store`` port on SQLite, for one process on one machine."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # fewer, larger checkpoints: each one syncs the disk, which costs ms on a VM
        self._db.execute("PRAGMA wal_autocheckpoint=10000")
        self._db.executescript(_SCHEMA)
        self._book = FeatureBook()
        self._budgets: dict[str, list[float]] = {}
        self._dirty: set[tuple[str, str]] = set()
        self._rows: list[tuple[str, str, bytes]] = []
        self._deletes: list[tuple[str, str]] = []
        self._events: list[bytes] = []
        self._flushed: asyncio.Future[None] | None = None
        self._open = {
            d.id: d
            for d in (DialogueRecord.model_validate_json(v) for v in self._scan("open_dialogue"))
        }

    # --- FeatureStore -------------------------------------------------------
    async def observe(self, facts: PaymentFacts, budget_window_s: float) -> Observation:
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
        return list(self._open.values())

    async def get_preferences(self, customer_id: str) -> Preferences | None:
        raw = self._get("preferences", customer_id)
        return None if raw is None else Preferences.model_validate_json(raw)

    async def get_mark(self, kind: str, key: str, now_ts: float) -> bool:
        raw = self._get(f"mark:{kind}", key)
        return raw is not None and float(raw) > now_ts

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
        for update in change.labels:
            self._load_entity("terminal", update.terminal_id, self._book.terminals)
            self._load_entity("merchant", update.merchant_id, self._book.merchants)
            self._book.label(
                update.merchant_id, update.terminal_id, update.payment_day, update.is_fraud
            )
            self._dirty.update({("terminal", update.terminal_id), ("merchant", update.merchant_id)})
        rows = self._rows
        if change.payment is not None:
            payment_id, record = change.payment
            rows.append(("payment", payment_id, record.model_dump_json().encode()))
        if change.challenge is not None:
            customer_id, ts = change.challenge
            self._budget(customer_id).append(ts)
            rows.append(("budget", customer_id, orjson.dumps(self._budget(customer_id)[-50:])))
        rows.extend((f"mark:{m.kind}", m.key, repr(m.until).encode()) for m in change.marks)
        if change.preferences is not None:
            customer_id, preferences = change.preferences
            rows.append(("preferences", customer_id, preferences.model_dump_json().encode()))
        if change.dialogue is not None:
            self._stage_dialogue(change.dialogue)
        self._events.extend(e.model_dump_json(by_alias=True).encode() for e in change.events)

    def _flush(self) -> None:
        """Write everything staged since the last flush in one transaction."""
        done, self._flushed = self._flushed, None
        rows = [*self._rows, *self._dirty_rows()]
        deletes, events = self._deletes, self._events
        self._rows, self._deletes, self._events = [], [], []
        self._dirty.clear()
        try:
            with self._db:  # one transaction: records, state, outbox
                self._db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", rows)
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

    # --- Outbox -------------------------------------------------------------
    async def pending(self, limit: int) -> list[OutboxEntry]:
        cursor = self._db.execute("SELECT seq, event FROM outbox ORDER BY seq LIMIT ?", (limit,))
        return [OutboxEntry(seq, _EVENT.validate_json(raw)) for seq, raw in cursor]

    async def ack(self, seqs: Sequence[int]) -> None:
        with self._db:
            self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])

    async def close(self) -> None:
        self._db.close()

    # --- internals ----------------------------------------------------------
    def _stage_dialogue(self, dialogue: DialogueRecord) -> None:
        raw = dialogue.model_dump_json().encode()
        self._rows.append(("dialogue", dialogue.id, raw))
        if dialogue.is_open:
            self._open[dialogue.id] = dialogue
            self._rows.append(("open_dialogue", dialogue.id, raw))
        else:
            self._open.pop(dialogue.id, None)
            self._deletes.append(("open_dialogue", dialogue.id))

    def _dirty_rows(self) -> list[tuple[str, str, bytes]]:
        rows = []
        for ns, key in self._dirty:
            if ns == "customer":
                rows.append((ns, key, _dump_customer(self._book.customers[key])))
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
        self._book.customers[customer_id] = CustomerState() if raw is None else _load_cust(raw)

    def _load_entity(self, ns: str, key: str, into: dict[str, EntityState]) -> None:
        if key in into:
            return
        raw = self._get(ns, key)
        days: list[Any] = [] if raw is None else orjson.loads(raw)
        into[key] = EntityState(days={int(d): list(b) for d, b in days})


def _dump_customer(state: CustomerState) -> bytes:
    return orjson.dumps(
        {"h": state.history, "c": state.seen_counterparties, "t": state.seen_terminals}
    )


def _load_cust(raw: bytes) -> CustomerState:
    data = orjson.loads(raw)
    return CustomerState(
        history=[(t, a) for t, a in data["h"]],
        seen_counterparties=data["c"],
        seen_terminals=data["t"],
    )
