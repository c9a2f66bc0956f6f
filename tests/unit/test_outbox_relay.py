"""The relay publishes each outbox entry once when only the store's acknowledgement failed.

A stalled store can take a batch's publish and then time out its ack; the relay keeps
those sequence numbers and acknowledges them first on its next round, instead of
publishing the same batch again (consumers would de-duplicate, but a freeze made ~470
needless duplicates a run).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from friction.domain.events import EncodedEvent
from friction.domain.records import OutboxEntry
from friction.errors import StoreUnavailable
from friction.events.outbox import OutboxRelay


class FlakyAckOutbox:
    """An outbox whose first ``failures`` acknowledgements time out without acknowledging."""

    def __init__(self, events: list[EncodedEvent], failures: int) -> None:
        self.entries = [OutboxEntry(seq, event) for seq, event in enumerate(events)]
        self.failures = failures

    async def pending(self, limit: int) -> list[OutboxEntry]:
        return self.entries[:limit]

    async def ack(self, seqs: Sequence[int]) -> None:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("ack timed out")
        self.entries = [e for e in self.entries if e.seq not in set(seqs)]


class RecordingBus:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def publish(self, events: Sequence[object]) -> None:
        raise AssertionError("the relay publishes encoded events")

    async def publish_encoded(self, events: Sequence[EncodedEvent]) -> None:
        self.sent.extend(event.event_id for event in events)

    async def close(self) -> None:
        return None


def encoded(n: int) -> EncodedEvent:
    return EncodedEvent(
        raw=b"{}", topic="decisions", schema="decision.v1", event_id=f"evt_{n}",
        customer_id="cus_1",
    )  # fmt: skip


async def test_a_failed_ack_is_retried_without_publishing_again() -> None:
    outbox = FlakyAckOutbox([encoded(n) for n in range(5)], failures=1)
    bus = RecordingBus()
    relay = OutboxRelay(outbox, bus)
    with pytest.raises(StoreUnavailable):
        await relay.drain()
    assert bus.sent == [f"evt_{n}" for n in range(5)]
    assert await relay.drain() == 0  # acknowledged now, nothing new to send
    assert bus.sent == [f"evt_{n}" for n in range(5)] and outbox.entries == []


async def test_an_ack_failing_again_is_kept_for_the_next_round() -> None:
    outbox = FlakyAckOutbox([encoded(n) for n in range(3)], failures=2)
    bus = RecordingBus()
    relay = OutboxRelay(outbox, bus)
    for _ in range(2):
        with pytest.raises(StoreUnavailable):
            await relay.drain()
    await relay.drain()
    assert bus.sent == ["evt_0", "evt_1", "evt_2"] and outbox.entries == []
