"""Rules and lists in the embedded store's SQLite file (the ``RulesStore`` port).

A connection of its own on the same file (WAL: the scoring connection is never blocked
by an analyst's upload of 100,000 entries, which runs in a thread). Every change bumps the
tenant's version in the same transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from friction.rules.lists import ListEntry, RuleList
from friction.rules.rules import Rule
from friction.rules.store import TenantRules
from friction.storage.sqlite_schema import connect

_BUMP = (
    "INSERT INTO rules_version VALUES (?, 1) "
    "ON CONFLICT (tenant) DO UPDATE SET version = version + 1"
)


class SqliteRules:
    """``RulesStore`` on the embedded store's file."""

    def __init__(self, path: Path) -> None:
        self._db = connect(path)
        self._db.execute("PRAGMA busy_timeout = 5000")  # beside the scoring connection

    async def save_list(self, tenant: str, spec: RuleList) -> None:
        self._write(tenant, "INSERT OR REPLACE INTO rule_list VALUES (?, ?, ?)",
                    [(tenant, spec.name, spec.model_dump_json().encode())])  # fmt: skip

    async def delete_list(self, tenant: str, name: str) -> bool:
        with self._db:
            gone = self._db.execute(
                "DELETE FROM rule_list WHERE tenant = ? AND name = ?", (tenant, name)
            ).rowcount
            self._db.execute("DELETE FROM rule_entry WHERE tenant = ? AND list = ?", (tenant, name))
            self._db.execute(_BUMP, (tenant,))
        return bool(gone)

    async def add_entries(self, tenant: str, name: str, entries: Sequence[ListEntry]) -> None:
        rows = [(tenant, name, e.value, e.model_dump_json().encode()) for e in entries]
        sql = "INSERT OR REPLACE INTO rule_entry VALUES (?, ?, ?, ?)"
        await asyncio.to_thread(self._write, tenant, sql, rows)

    async def remove_entry(self, tenant: str, name: str, value: str) -> bool:
        with self._db:
            gone = self._db.execute(
                "DELETE FROM rule_entry WHERE tenant = ? AND list = ? AND value = ?",
                (tenant, name, value),
            ).rowcount
            self._db.execute(_BUMP, (tenant,))
        return bool(gone)

    async def list_entries(
        self, tenant: str, name: str, limit: int, after: str | None
    ) -> list[ListEntry]:
        rows = self._db.execute(
            "SELECT entry FROM rule_entry WHERE tenant = ? AND list = ? AND value > ? "
            "ORDER BY value LIMIT ?",
            (tenant, name, after or "", limit),
        )
        return [ListEntry.model_validate_json(raw) for (raw,) in rows]

    async def save_rule(self, tenant: str, rule: Rule) -> None:
        self._write(tenant, "INSERT OR REPLACE INTO rule VALUES (?, ?, ?)",
                    [(tenant, rule.id, rule.model_dump_json().encode())])  # fmt: skip

    async def delete_rule(self, tenant: str, rule_id: str) -> bool:
        with self._db:
            gone = self._db.execute(
                "DELETE FROM rule WHERE tenant = ? AND id = ?", (tenant, rule_id)
            ).rowcount
            self._db.execute(_BUMP, (tenant,))
        return bool(gone)

    async def tenant_rules(self, tenant: str) -> TenantRules:
        return await asyncio.to_thread(self._read_all, tenant)

    async def rules_versions(self, tenants: Sequence[str]) -> dict[str, int]:
        found = dict(
            self._db.execute(
                f"SELECT tenant, version FROM rules_version WHERE tenant IN "
                f"({','.join('?' * len(tenants))})",
                list(tenants),
            ).fetchall()
        )
        return {t: int(found.get(t, 0)) for t in tenants}

    async def close(self) -> None:
        self._db.close()

    def _write(self, tenant: str, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
        with self._db:
            self._db.executemany(sql, rows)
            self._db.execute(_BUMP, (tenant,))

    def _read_all(self, tenant: str) -> TenantRules:
        with self._db:  # one snapshot: the version and what it numbers
            row = self._db.execute(
                "SELECT version FROM rules_version WHERE tenant = ?", (tenant,)
            ).fetchone()
            rules = [
                Rule.model_validate_json(raw)
                for (raw,) in self._db.execute("SELECT value FROM rule WHERE tenant = ?", (tenant,))
            ]
            lists = []
            for (raw,) in self._db.execute(
                "SELECT value FROM rule_list WHERE tenant = ? ORDER BY name", (tenant,)
            ):
                spec = RuleList.model_validate_json(raw)
                entries = [
                    ListEntry.model_validate_json(e)
                    for (e,) in self._db.execute(
                        "SELECT entry FROM rule_entry WHERE tenant = ? AND list = ?",
                        (tenant, spec.name),
                    )
                ]
                lists.append((spec, entries))
        return TenantRules(0 if row is None else int(row[0]), rules, lists)
