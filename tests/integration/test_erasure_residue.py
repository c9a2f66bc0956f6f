"""No copy of an erased customer on disk (issue 15, item 6), embedded store.

Before, ``friction.db-wal`` kept hundreds of copies of the customer id and phone until a
clean shutdown. The customer here is scored (a challenge on the console channel),
answers, sets preferences, gets a label and opts out of SMS; then ``DELETE
/v1/customers/{id}`` — and, with the service still running, every byte of every file of
the data dir is searched. The SQLite files (database, WAL, shared-memory index) hold
neither id nor phone. The event log is append-only history: decision and dialogue events
carry the customer id as the analytics join key (kept by design and named in
docs/security.md); this test states which files those are, and that the phone is in none.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from friction.api.keys import STORE
from friction.settings import Settings
from tests.dialogues import StartApp, challenge, payment
from tests.ledger import drained

pytestmark = pytest.mark.timeout(60)
CUSTOMER, PHONE = b"cus_42", b"+447700900123"


def holding(data_dir: Path, needle: bytes) -> list[str]:
    """Files under ``data_dir`` (relative paths) whose bytes contain ``needle``."""
    return sorted(
        str(path.relative_to(data_dir))
        for path in data_dir.rglob("*")
        if path.is_file() and needle in path.read_bytes()
    )


async def test_erasure_leaves_no_copy_in_the_sqlite_files(
    make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    settings = make_settings(challenge_at=0.0, default_channels=["console"])
    client = await start_app(settings)
    await challenge(client, payment("pay_res_0"))
    for n in range(1, 20):  # many versions of the customer's pages in the WAL
        assert (await client.post("/v1/score", json=payment(f"pay_res_{n}"))).status == 200
    await client.put("/v1/customers/cus_42/preferences", json={"channels": ["console"]})
    await client.post("/v1/dev/sms", json={"phone": PHONE.decode(), "body": "YES"})
    await client.post(
        "/v1/payments/pay_res_1/labels", json={"label": "fraud", "source": "chargeback"}
    )
    await client.post("/v1/dev/sms", json={"phone": PHONE.decode(), "body": "STOP"})
    await drained(client.server.app[STORE])
    data_dir = settings.data_dir
    assert "friction.db-wal" in holding(data_dir, CUSTOMER)  # what the issue found

    response = await client.delete("/v1/customers/cus_42")
    assert response.status == 200, await response.text()
    await drained(client.server.app[STORE])

    sqlite_files = {"friction.db", "friction.db-wal", "friction.db-shm"}
    assert {p.name for p in data_dir.iterdir()} >= {"friction.db"}
    assert not sqlite_files & set(holding(data_dir, CUSTOMER))
    assert not sqlite_files & set(holding(data_dir, PHONE))
    assert holding(data_dir, PHONE) == []  # no event carries a phone number
    events = holding(data_dir, CUSTOMER)
    assert events and all(path.startswith("events/") for path in events), events
    assert (await client.get("/v1/payments/pay_res_1")).status == 200  # the decision stays
