"""Outbox relay: moves events from the store's outbox to the bus.

The store writes events in the same transaction as the state they announce;
this relay publishes them and only then acknowledges, so a crash anywhere
re-publishes (consumers de-duplicate on ``event_id``) and never loses one. If
the bus is down the outbox simply grows and drains when it returns. Events
travel as the bytes the store keeps (``EncodedEvent``), never re-validated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from friction.aio import cancelled, checkpoint
from friction.ports import EventBus, Outbox

log = logging.getLogger(__name__)
BATCH = 500
COALESCE_SECONDS = 0.005


class OutboxRelay:
    """Background publisher; ``wake()`` after a commit for low latency."""

    def __init__(self, outbox: Outbox, bus: EventBus, idle_seconds: float = 0.5) -> None:
        self._outbox = outbox
        self._bus = bus
        self._idle = idle_seconds
        self._wakeup = asyncio.Event()
        self._unacked: list[int] = []  # published, but the store did not take the ack
        self.published = 0

    def wake(self) -> None:
        self._wakeup.set()

    async def drain(self) -> int:
        """Publish everything pending now; returns how many events went out."""
        sent = 0
        if self._unacked:  # a stalled store missed the ack: acknowledge, do not publish again
            await self._outbox.ack(self._unacked)
            self._unacked = []
        while entries := await self._outbox.pending(BATCH):
            await self._bus.publish_encoded([entry.event for entry in entries])
            self._unacked = [entry.seq for entry in entries]
            await self._outbox.ack(self._unacked)
            self._unacked = []
            sent += len(entries)
        self.published += sent
        return sent

    async def run(self) -> None:
        """Drain forever; on bus failure back off and retry, keeping events in the outbox."""
        backoff = self._idle
        while True:
            checkpoint()  # a library may have swallowed our cancellation
            try:
                await self.drain()
                backoff = self._idle
            except Exception:  # any bus failure: the events stay in the outbox
                if cancelled():
                    raise
                log.warning(
                    "event bus unavailable; outbox keeps events, retrying in %.1fs", backoff
                )
                backoff = min(backoff * 2, 10.0)
            self._wakeup.clear()
            # asyncio.timeout, not wait_for: wait_for can turn a cancellation into a
            # TimeoutError when both land together, and this loop would never end
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff):
                    await self._wakeup.wait()
            await asyncio.sleep(COALESCE_SECONDS)  # one batch per burst of commits, not one each
