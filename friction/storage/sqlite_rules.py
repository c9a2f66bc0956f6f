"""Rules and lists in the embedded store's SQLite file (the ``RulesStore`` port).

A connection of its own on the same file, used by one worker thread: an analyst's upload
of 100,000 entries never runs on the event loop, and the scoring connection is never
blocked by it (WAL). Every change is one transaction that also bumps the tenant's version.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from friction.rules.lists import ListEntry, RuleList
from friction.rules.rules import Rule
from friction.rules.store import Definitions, ListState
from friction.storage.sqlite_schema import connect, transaction

T = TypeVar("T")
_BUMP = (
    "INSERT INTO rules_version VALUES (?, 1) "
    "ON CONFLICT (tenant) DO UPDATE SET version = version + 1"
)
_TOUCH = "UPDATE rule_list SET revision = ? WHERE tenant = ? AND name = ?"


class SqliteRules:
    """``RulesStore`` on the embedded store's file."""

    def __init__(self, path: Path) -> None:
        self._db = connect(path)
        self._db.execute("PRAGMA busy_timeout = 5000")  # beside the scoring connection
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="friction-rules")

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, work, self._db)

    async def save_list(self, tenant: str, spec: RuleList) -> RuleList:
        def write(db: sqlite3.Connection) -> RuleList:
            with transaction(db):
                row = db.execute(
                    "SELECT value FROM rule_list WHERE tenant = ? AND name = ?", (tenant, spec.name)
                ).fetchone()
                version = 1 if row is None else RuleList.model_validate_json(row[0]).version + 1
                stored = spec.model_copy(update={"version": version})
                db.execute(
                    "INSERT OR REPLACE INTO rule_list VALUES (?, ?, ?, ?)",
                    (tenant, spec.name, stored.model_dump_json().encode(), _revision()),
                )
                db.execute(_BUMP, (tenant,))
            return stored

        return await self._run(write)

    async def delete_list(self, tenant: str, name: str) -> bool:
        def write(db: sqlite3.Connection) -> bool:
            with transaction(db):
                gone = db.execute(
                    "DELETE FROM rule_list WHERE tenant = ? AND name = ?", (tenant, name)
                ).rowcount
                db.execute("DELETE FROM rule_entry WHERE tenant = ? AND list = ?", (tenant, name))
                db.execute(_BUMP, (tenant,))
            return bool(gone)

        return await self._run(write)

    async def add_entries(self, tenant: str, name: str, entries: Sequence[ListEntry]) -> None:
        rows = [(tenant, name, e.value, e.model_dump_json().encode()) for e in entries]

        def write(db: sqlite3.Connection) -> None:
            with transaction(db):
                db.executemany("INSERT OR REPLACE INTO rule_entry VALUES (?, ?, ?, ?)", rows)
                db.execute(_TOUCH, (_revision(), tenant, name))
                db.execute(_BUMP, (tenant,))

        await self._run(write)

    async def remove_entry(self, tenant: str, name: str, value: str) -> bool:
        def write(db: sqlite3.Connection) -> bool:
            with transaction(db):
                gone = db.execute(
                    "DELETE FROM rule_entry WHERE tenant = ? AND list = ? AND value = ?",
                    (tenant, name, value),
                ).rowcount
                if gone:
                    db.execute(_TOUCH, (_revision(), tenant, name))
                    db.execute(_BUMP, (tenant,))
            return bool(gone)

        return await self._run(write)

    async def list_entries(
        self, tenant: str, name: str, limit: int, after: str | None
    ) -> list[ListEntry]:
        def read(db: sqlite3.Connection) -> list[ListEntry]:
            rows = db.execute(
                "SELECT entry FROM rule_entry WHERE tenant = ? AND list = ? AND value > ? "
                "ORDER BY value LIMIT ?",
                (tenant, name, after or "", limit),
            )
            return [ListEntry.model_validate_json(raw) for (raw,) in rows]

        return await self._run(read)

    async def entries(self, tenant: str, name: str) -> list[ListEntry]:
        def read(db: sqlite3.Connection) -> list[ListEntry]:
            rows = db.execute(
                "SELECT entry FROM rule_entry WHERE tenant = ? AND list = ?", (tenant, name)
            )
            return [ListEntry.model_validate_json(raw) for (raw,) in rows]

        return await self._run(read)

    async def save_rule(self, tenant: str, rule: Rule) -> Rule:
        def write(db: sqlite3.Connection) -> Rule:
            with transaction(db):
                row = db.execute(
                    "SELECT max(version) FROM rule_history WHERE tenant = ? AND id = ?",
                    (tenant, rule.id),
                ).fetchone()
                stored = rule.model_copy(update={"version": (row[0] or 0) + 1})
                raw = stored.model_dump_json().encode()
                db.execute("INSERT OR REPLACE INTO rule VALUES (?, ?, ?)", (tenant, rule.id, raw))
                db.execute(
                    "INSERT INTO rule_history VALUES (?, ?, ?, ?)",
                    (tenant, rule.id, stored.version, raw),
                )
                db.execute(_BUMP, (tenant,))
            return stored

        return await self._run(write)

    async def rule_versions(self, tenant: str, rule_id: str) -> list[Rule]:
        def read(db: sqlite3.Connection) -> list[Rule]:
            rows = db.execute(
                "SELECT value FROM rule_history WHERE tenant = ? AND id = ? ORDER BY version",
                (tenant, rule_id),
            )
            return [Rule.model_validate_json(raw) for (raw,) in rows]

        return await self._run(read)

    async def delete_rule(self, tenant: str, rule_id: str) -> bool:
        def write(db: sqlite3.Connection) -> bool:
            with transaction(db):
                gone = db.execute(
                    "DELETE FROM rule WHERE tenant = ? AND id = ?", (tenant, rule_id)
                ).rowcount
                db.execute(_BUMP, (tenant,))
            return bool(gone)

        return await self._run(write)

    async def definitions(self, tenant: str) -> Definitions:
        def read(db: sqlite3.Connection) -> Definitions:
            with transaction(db, writes=False):  # the version and what it numbers
                row = db.execute(
                    "SELECT version FROM rules_version WHERE tenant = ?", (tenant,)
                ).fetchone()
                rules = db.execute("SELECT value FROM rule WHERE tenant = ? ORDER BY id", (tenant,))
                rules_ = [Rule.model_validate_json(raw) for (raw,) in rules]
                lists = db.execute(
                    "SELECT l.value, l.revision, (SELECT count(*) FROM rule_entry e "
                    "WHERE e.tenant = l.tenant AND e.list = l.name) "
                    "FROM rule_list l WHERE l.tenant = ? ORDER BY l.name",
                    (tenant,),
                )
                states = [
                    ListState(RuleList.model_validate_json(raw), revision, size)
                    for raw, revision, size in lists
                ]
            return Definitions(0 if row is None else int(row[0]), rules_, states)

        return await self._run(read)

    async def rules_versions(self, tenants: Sequence[str]) -> dict[str, int]:
        def read(db: sqlite3.Connection) -> dict[str, int]:
            marks = ",".join("?" * len(tenants))
            sql = f"SELECT tenant, version FROM rules_version WHERE tenant IN ({marks})"
            found = dict(db.execute(sql, list(tenants)).fetchall())
            return {t: int(found.get(t, 0)) for t in tenants}

        return await self._run(read)

    async def close(self) -> None:
        await self._run(lambda db: db.close())
        self._thread.shutdown(wait=False)


def _revision() -> str:
    return uuid.uuid4().hex
