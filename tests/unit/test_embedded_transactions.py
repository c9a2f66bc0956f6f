"""The embedded store's writes are transactions: all of a flush lands, or none of it.

The file is opened in autocommit mode (``isolation_level=None``), where ``with db:``
opens no transaction: each statement would commit on its own, and a failure (or a
crash) between the record and its outbox event would keep a decision whose event is
never published. A trigger makes the outbox refuse the insert, as a full disk would.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from friction.domain.records import Change
from friction.storage.embedded import EmbeddedStore
from tests.contract.test_store_contract import decision_event, payment_record

FAIL_OUTBOX = (
    "CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox "
    "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
)


async def test_a_flush_that_fails_at_the_outbox_leaves_no_record(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = EmbeddedStore(path)
    other = sqlite3.connect(path)
    other.execute(FAIL_OUTBOX)
    other.commit()
    try:
        change = Change(payment=payment_record("pay_half"), events=[decision_event("pay_half")])
        with pytest.raises(sqlite3.Error):
            await store.commit(change)
    finally:
        await store.close()
    other.execute("DROP TRIGGER refuse_outbox")
    other.commit()
    rows = other.execute("SELECT count(*) FROM kv WHERE key LIKE '%pay_half%'").fetchone()
    other.close()
    assert rows == (0,), "the record was written without its event"
    reopened = EmbeddedStore(path)
    try:
        assert await reopened.get_payment("pay_half") is None
        assert await reopened.pending(10) == []
    finally:
        await reopened.close()
