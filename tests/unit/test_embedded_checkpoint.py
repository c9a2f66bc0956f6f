"""The embedded store's WAL is checkpointed by its own thread, not inside a request's COMMIT.

The writer's automatic checkpoint (a backstop at 1000 pages) never fires for a handful
of commits, so a record that reaches the database file itself got there through the
``Checkpointer``; a stopped store leaves no thread behind, and what it committed is read
back after a reopen.
"""

from __future__ import annotations

import threading
from pathlib import Path

from friction.domain.records import Change
from friction.storage.embedded import EmbeddedStore
from tests.contract.test_store_contract import decision_event, payment_record
from tests.dialogues import eventually


def _checkpointers() -> int:
    return sum(t.name == "sqlite-checkpoint" for t in threading.enumerate())


async def test_commits_reach_the_database_file_without_the_writer_checkpointing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    before = _checkpointers()
    store = EmbeddedStore(path)
    try:
        marker = "pay_checkpointed_by_the_thread"
        change = Change(payment=payment_record(marker), events=[decision_event(marker)])
        await store.commit(change)
        assert path.with_name("store.db-wal").stat().st_size > 0, "the commit is in the WAL"

        async def in_the_file() -> bool:
            return marker.encode() in path.read_bytes()

        await eventually(in_the_file)  # fails after 30 s: no checkpoint copied the commit
        assert _checkpointers() == before + 1
    finally:
        await store.close()
    assert _checkpointers() == before
    reopened = EmbeddedStore(path)
    try:
        found = await reopened.get_payment(payment_record(marker).key)
        assert found is not None and found.status.payment_id == marker
    finally:
        await reopened.close()
