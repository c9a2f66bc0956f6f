"""The ledger check every fault scenario ends with (issue 8, item 1).

successful ``POST /v1/score`` responses = stored decisions = distinct decision
events on the bus, and no event is delivered twice after de-duplication on
``event_id`` (the bus may hold a duplicate: delivery is at least once). Every
stored decision must also answer with the exact bytes the client received.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer

from friction.events.file_bus import read_events
from friction.ports import Store


@dataclass(frozen=True)
class LedgerReport:
    """What the check counted (tests print it: the numbers are the evidence)."""

    responses: int
    stored: int
    events: int
    distinct_events: int

    @property
    def duplicates(self) -> int:
        """Deliveries beyond the first of an event (removed by consumers' de-duplication)."""
        return self.events - self.distinct_events


async def drained(store: Store, within_s: float = 30.0) -> None:
    """Wait until the outbox is empty (the relay published everything committed)."""
    deadline = time.monotonic() + within_s
    while await store.pending(1):
        assert time.monotonic() < deadline, "outbox did not drain in time"
        await asyncio.sleep(0.02)


def file_decision_ids(data_dir: Path, prefix: str = "") -> list[str]:
    """Decision event ids in the local event log (duplicates included)."""
    events = read_events(data_dir / "events", "decisions")
    return [e.event_id for e in events if e.payment_id.startswith(prefix)]


async def kafka_decision_ids(bootstrap: str, prefix: str, quiet_s: float = 1.0) -> list[str]:
    """Decision event ids on the broker for payments starting with ``prefix``."""
    consumer = AIOKafkaConsumer(
        "decisions", bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    ids: list[str] = []
    try:
        while batch := await consumer.getmany(timeout_ms=int(quiet_s * 1000)):
            for message in itertools.chain.from_iterable(batch.values()):
                event = orjson.loads(message.value or b"{}")
                if str(event.get("payment_id", "")).startswith(prefix):
                    ids.append(event["event_id"])
    finally:
        await consumer.stop()
    return ids


async def check_ledger(
    responses: Mapping[str, bytes], store: Store, event_ids: Iterable[str]
) -> LedgerReport:
    """Assert the ledger holds; ``responses``: payment id -> body of its 200 answer."""
    stored = 0
    for payment_id, body in responses.items():
        record = await store.get_payment(payment_id)
        assert record is not None, f"{payment_id} answered 200 but is not stored"
        assert record.response.encode() == body, f"{payment_id}: stored answer differs"
        stored += 1
    ids = list(event_ids)
    counts = Counter(ids)
    expected = {f"decision:{payment_id}" for payment_id in responses}
    assert set(counts) == expected, (
        f"events without a response: {sorted(set(counts) - expected)[:5]}, "
        f"responses without an event: {sorted(expected - set(counts))[:5]}"
    )
    return LedgerReport(len(responses), stored, len(ids), len(counts))
