"""The embedded store's SQLite file: its tables, statements, row encodings, and opening it.

One ``kv`` table (namespace, key, JSON value) holds records and feature state; the
outbox and the review queue have tables of their own, ordered and indexed as they are
read. ``connect`` applies the pragmas the durability promise rests on and migrates a
file from an older version in place.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import orjson

from friction.domain.records import Mark, ReviewRecord
from friction.domain.tenancy import tenant_of
from friction.scoring.features import CustomerState
from friction.storage.review_index import sort_key

ReviewRow = tuple[str, str, str | None, str, int, bytes, str]
"""A row of the ``review`` table: id, status, assignee, sort key, version, JSON, tenant."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                               PRIMARY KEY (ns, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS rule_list (tenant TEXT NOT NULL, name TEXT NOT NULL,
                                      value BLOB NOT NULL, revision TEXT NOT NULL,
                                      PRIMARY KEY (tenant, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rule_entry (tenant TEXT NOT NULL, list TEXT NOT NULL,
                                       value TEXT NOT NULL, entry BLOB NOT NULL,
                                       PRIMARY KEY (tenant, list, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rule (tenant TEXT NOT NULL, id TEXT NOT NULL, value BLOB NOT NULL,
                                 PRIMARY KEY (tenant, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rule_history (tenant TEXT NOT NULL, id TEXT NOT NULL,
                                         version INTEGER NOT NULL, value BLOB NOT NULL,
                                         PRIMARY KEY (tenant, id, version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rules_version (tenant TEXT PRIMARY KEY, version INTEGER NOT NULL)
                                          WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS review (id TEXT PRIMARY KEY, status TEXT NOT NULL, assignee TEXT,
                                   sort TEXT NOT NULL, version INTEGER NOT NULL,
                                   value BLOB NOT NULL, tenant TEXT NOT NULL DEFAULT 'default');
"""
INSERT_REVIEW = "INSERT OR REPLACE INTO review VALUES (?, ?, ?, ?, ?, ?, ?)"
REVIEW_INDEXES = """
DROP INDEX IF EXISTS review_by_status;
DROP INDEX IF EXISTS review_by_assignee;
DROP INDEX IF EXISTS review_by_sort;
CREATE INDEX IF NOT EXISTS review_by_tenant_status ON review (tenant, status, sort);
CREATE INDEX IF NOT EXISTS review_by_tenant_assignee ON review (tenant, assignee, sort);
CREATE INDEX IF NOT EXISTS review_by_tenant ON review (tenant, sort);
"""
LIST_REVIEWS = """
SELECT value FROM review WHERE tenant = ?1 AND (?2 IS NULL OR status = ?2)
AND (?3 IS NULL OR assignee = ?3) AND sort > ?4 ORDER BY sort LIMIT ?5
"""
OF_CUSTOMER = "SELECT key, value FROM kv WHERE ns = ? AND instr(value, ?) > 0"
# Retention, the embedded counterpart of the Redis TTLs (see redis_store): records by the
# wall-clock time they were written, marks by their ``until`` plus a day.
SWEEP = (
    ("DELETE FROM kv WHERE ns = 'payment' AND "
     "json_extract(CAST(value AS TEXT), '$.status.decided_at') < ?", 180),
    ("DELETE FROM kv WHERE ns IN ('dialogue', 'open_dialogue') AND "
     "json_extract(CAST(value AS TEXT), '$.created_at') < ?", 180),
    ("DELETE FROM review WHERE json_extract(CAST(value AS TEXT), '$.created_at') < ?", 400),
    ("DELETE FROM kv WHERE ns = 'session' AND "
     "json_extract(CAST(value AS TEXT), '$.expires_at') < ?", 0),
)  # fmt: skip
SWEEP_MARKS = (
    "DELETE FROM kv WHERE ns LIKE 'mark:%' AND CAST(substr(CAST(value AS TEXT), 1, "
    "instr(CAST(value AS TEXT) || ' ', ' ') - 1) AS REAL) < ?"
)


@contextlib.contextmanager
def transaction(db: sqlite3.Connection, writes: bool = True) -> Iterator[None]:
    """One SQLite transaction, all or nothing. The file is opened in autocommit mode, where
    ``with db:`` opens none: each statement would commit alone, and a failure or a crash
    between a record and its outbox event would keep the one without the other. A read
    (``writes=False``) sees one snapshot and takes no write lock."""
    db.execute("BEGIN IMMEDIATE" if writes else "BEGIN")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def connect(path: Path) -> sqlite3.Connection:
    """The store's file, opened for one process: WAL, synchronous NORMAL (durable against
    a crash of the process), deleted rows zeroed (erasure), the schema of this version."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    # deleted and overwritten rows are zeroed, not left in free space (erasure, GDPR Art. 17)
    db.execute("PRAGMA secure_delete=ON")
    # The writer's own checkpoint, inside a COMMIT: a backstop, and what starts the WAL over.
    # ``checkpoint.Checkpointer`` copies pages in a thread meanwhile, so little is left here.
    db.execute("PRAGMA wal_autocheckpoint=1000")
    db.executescript(SCHEMA)
    columns = {row[1] for row in db.execute("PRAGMA table_info(review)")}
    if "tenant" not in columns:  # a file from before tenants had queues of their own
        db.execute("ALTER TABLE review ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default'")
    db.executescript(REVIEW_INDEXES)
    return db


def review_row(review: ReviewRecord) -> ReviewRow:
    """The ``review`` table's row of an item."""
    value = review.model_dump_json().encode()
    return (review.id, review.status, review.assignee, sort_key(review), review.version, value,
            tenant_of(review.id))  # fmt: skip


def mark_value(mark: Mark) -> bytes:
    """``<until>`` or ``<until> <value>``: ``until`` first, so reading it never parses JSON."""
    return f"{mark.until!r} {mark.value}".rstrip().encode()


def dump_customer(state: CustomerState) -> bytes:
    """A customer's feature state as the ``customer`` namespace keeps it."""
    return orjson.dumps(
        {"h": state.history, "c": state.seen_counterparties, "t": state.seen_terminals}
    )


def load_customer(raw: bytes) -> CustomerState:
    """The feature state ``dump_customer`` wrote."""
    data = orjson.loads(raw)
    return CustomerState(
        history=[(t, a) for t, a in data["h"]],
        seen_counterparties=data["c"],
        seen_terminals=data["t"],
    )
