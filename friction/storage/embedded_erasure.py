"""What erasing a customer changes in the embedded store's file, read first, written in one go.

The plan is read from SQLite (the customer's records by the marker every one of their
JSON records holds) and applied in one transaction by the store, which also mends its
in-memory copies. What each record becomes is the domain's (``domain.erasure``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from friction.domain.erasure import (
    CUSTOMER_MARKS,
    customer_marker,
    scrub_dialogue,
    scrub_payment,
    scrub_review,
)
from friction.domain.records import DialogueRecord, PaymentRecord, ReviewRecord
from friction.storage.open_index import OpenDialogues
from friction.storage.sqlite_schema import (
    INSERT_REVIEW,
    OF_CUSTOMER,
    ReviewRow,
    review_row,
    transaction,
)

Row = tuple[str, str, bytes]
_IS_OPEN = "SELECT 1 FROM kv WHERE ns = 'open_dialogue' AND key = ?"


@dataclass
class ErasurePlan:
    """The rows to rewrite under the pseudonym and the keys to delete."""

    rows: list[Row] = field(default_factory=list)
    reviews: list[ReviewRow] = field(default_factory=list)
    deletes: list[tuple[str, str]] = field(default_factory=list)
    scrubbed_dialogues: list[DialogueRecord] = field(default_factory=list)
    payments: int = 0

    @property
    def dialogues(self) -> int:
        return len(self.scrubbed_dialogues)

    def open_dialogues(self, open_now: OpenDialogues) -> list[DialogueRecord]:
        """The scrubbed copies of the customer's dialogues that are still open."""
        return [d for d in self.scrubbed_dialogues if d.id in open_now]

    def apply(self, db: sqlite3.Connection) -> int:
        """Write it all in one transaction; how many keys were deleted."""
        with transaction(db):
            db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", self.rows)
            db.executemany(INSERT_REVIEW, self.reviews)
            return sum(
                db.execute("DELETE FROM kv WHERE ns = ? AND key = ?", d).rowcount
                for d in self.deletes
            )


def plan_erasure(db: sqlite3.Connection, customer_id: str, pseudonym: str) -> ErasurePlan:
    """Everything of ``customer_id`` in the file, scrubbed or to delete."""
    marker = customer_marker(customer_id)
    plan = ErasurePlan()
    payment_keys = set()
    for key, raw in db.execute(OF_CUSTOMER, ("payment", marker)):
        scrubbed = scrub_payment(PaymentRecord.model_validate_json(raw), pseudonym)
        plan.rows.append(("payment", key, scrubbed.model_dump_json().encode()))
        payment_keys.add(key)
    plan.payments = len(payment_keys)
    for _, raw in db.execute(OF_CUSTOMER, ("dialogue", marker)):
        dialogue = scrub_dialogue(DialogueRecord.model_validate_json(raw), pseudonym)
        plan.scrubbed_dialogues.append(dialogue)
        plan.rows.append(("dialogue", dialogue.id, dialogue.model_dump_json().encode()))
        if db.execute(_IS_OPEN, (dialogue.id,)).fetchone():
            plan.rows.append(("open_dialogue", dialogue.id, dialogue.model_dump_json().encode()))
    for (raw,) in db.execute("SELECT value FROM review WHERE instr(value, ?) > 0", (marker,)):
        review = scrub_review(ReviewRecord.model_validate_json(raw), pseudonym)
        plan.reviews.append(review_row(review))
    plan.deletes = personal_keys(db, customer_id)
    plan.deletes += [("session", k) for k, _ in db.execute(OF_CUSTOMER, ("session", marker))]
    plan.deletes += declines_of(db, payment_keys)
    return plan


def personal_keys(db: sqlite3.Connection, customer_id: str) -> list[tuple[str, str]]:
    """Feature state, budget, preferences and the marks keyed by the customer."""
    keys = [(ns, customer_id) for ns in ("customer", "budget", "preferences")]
    for kind in CUSTOMER_MARKS:
        keys += [
            (f"mark:{kind}", k)
            for (k,) in db.execute(
                "SELECT key FROM kv WHERE ns = ? AND substr(key, 1, ?) = ?",
                (f"mark:{kind}", len(customer_id) + 1, customer_id + ":"),
            )
        ]
    return keys


def declines_of(db: sqlite3.Connection, payment_keys: set[str]) -> list[tuple[str, str]]:
    """Contestable-decline marks (keyed by a phone) that point at these payments."""
    rows = db.execute("SELECT key, value FROM kv WHERE ns = 'mark:contestable_decline'")
    found = []
    for key, value in rows:
        parts = bytes(value).decode().split(" ")  # "<until> <payment id> <locale>"
        if len(parts) > 1 and parts[1] in payment_keys:
            found.append(("mark:contestable_decline", str(key)))
    return found
