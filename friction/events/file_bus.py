"""Embedded event bus: one append-only JSON-lines file per topic.

Publishing appends and flushes to the OS; a line is one event in its versioned
schema. No fsync: like the SQLite store (WAL, synchronous=NORMAL) the log is
durable against a crash of the process, not of the machine — an fsync per batch
cost ~4 ms here, more than scoring a payment. Production durability is Kafka's
(acks=all, replicated).
The outbox relay may re-publish its last batch after a crash (it publishes,
then acknowledges), so the bus remembers the event ids of the recent tail of
each file and skips those it already holds: the log carries every state change
exactly once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from pydantic import TypeAdapter

from friction.domain.events import TOPIC_OF, EncodedEvent, Topic
from friction.domain.records import AnyEvent

_EVENT: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)
REMEMBERED_IDS = 10_000


class FileBus:
    """The ``EventBus`` port on local files (``<dir>/<topic>.jsonl``)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._files: dict[str, IO[bytes]] = {}
        self._recent: dict[str, deque[str]] = {}
        self._seen: dict[str, set[str]] = {}
        for topic in TOPIC_OF.values():
            tail = deque((e.event_id for e in read_events(directory, topic)), REMEMBERED_IDS)
            self._recent[topic] = tail
            self._seen[topic] = set(tail)
            self._files[topic] = (directory / f"{topic}.jsonl").open("ab")

    async def publish(self, events: Sequence[AnyEvent]) -> None:
        await self.publish_encoded([EncodedEvent.of(event) for event in events])

    async def publish_encoded(self, events: Sequence[EncodedEvent]) -> None:
        touched: set[Topic] = set()
        for event in events:
            topic = event.topic
            if event.event_id in self._seen[topic]:
                continue
            self._remember(topic, event.event_id)
            self._files[topic].write(event.raw + b"\n")
            touched.add(topic)
        for topic in touched:
            self._files[topic].flush()

    def _remember(self, topic: str, event_id: str) -> None:
        recent = self._recent[topic]
        if len(recent) == recent.maxlen:
            self._seen[topic].discard(recent[0])
        recent.append(event_id)
        self._seen[topic].add(event_id)

    async def close(self) -> None:
        for handle in self._files.values():
            handle.close()


def read_events(directory: Path, topic: Topic) -> Iterator[AnyEvent]:
    """Every event of one topic in the local log, oldest first (for notebooks and tests)."""
    path = directory / f"{topic}.jsonl"
    if not path.exists():
        return
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield _EVENT.validate_json(line)
