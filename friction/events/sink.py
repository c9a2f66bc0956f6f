"""Label sink: decisions, dialogues and labels from the bus -> the training dataset.

The dataset is partitioned JSON lines, one row per payment::

    <out>/date=YYYY-MM-DD/part-NN.jsonl   rows with a decision (the payment's UTC day)
    <out>/_pending/part-NN.jsonl          rows whose decision has not arrived yet
    <out>/_sink/journal.jsonl             events taken in since the last flush
    <out>/_sink/offsets-<name>.json       file-log positions of consumer ``name``

Why a row is a *merge* and not an append: labels arrive days after their
decision, on another topic, in any order relative to it. ``absorb`` folds an
event into its payment's row so that the result depends only on the *set* of
events: the decision sets the decision fields, the latest label and the latest
dialogue state win by ``(at, event_id)``, and an ``event_id`` already in the
row changes nothing. Redelivery, reordering and replays from offset zero all
give the same bytes, which is what at-least-once delivery needs.

Why a journal: the Kafka consumer commits an offset once the sink asks for the
next event, long before a partition file is rewritten. Every new event is first
appended to the journal (flushed to the OS, so a killed process keeps it);
``flush`` rewrites the touched partitions atomically and only then empties the
journal. A restart replays the journal over the partitions (idempotent).
Rows are kept in memory: fine for one sink per deployment at this scale; a
bigger one would keep only the days still inside the label-maturity window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

import orjson
from pydantic import BaseModel, TypeAdapter

from friction.domain.events import (
    DecisionEvent,
    DialogueEvent,
    LabelEvent,
    LabelSource,
    LabelValue,
    Topic,
)
from friction.domain.records import AnyEvent

log = logging.getLogger(__name__)
_EVENT: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)
TOPICS: tuple[Topic, ...] = ("decisions", "dialogues", "labels")
PENDING = "_pending"
STATE = "_sink"


class SinkRow(BaseModel):
    """One payment in the training dataset: its decision, latest label and dialogue state."""

    payment_id: str
    customer_id: str
    occurred_at: datetime | None = None
    decided_at: datetime | None = None
    decision: str | None = None
    score: float | None = None
    model_version: str | None = None
    reasons: list[str] = []
    features: dict[str, float | None] | None = None
    """The exact vector the model saw (None = missing), keyed by feature name."""
    amount_minor: int | None = None
    currency: str | None = None
    merchant_id: str | None = None
    terminal_id: str | None = None
    channel: str | None = None
    propensity: float | None = None
    """Probability that the policy took the decision it took (exploration)."""
    degraded: bool = False
    label: LabelValue | None = None
    label_source: LabelSource | None = None
    label_delay_seconds: float | None = None
    label_propensity: float | None = None
    label_at: datetime | None = None
    label_event_id: str | None = None
    dialogue_id: str | None = None
    dialogue_state: str | None = None
    dialogue_answer: str | None = None
    dialogue_at: datetime | None = None
    dialogue_event_id: str | None = None
    event_ids: list[str] = []
    """Every event folded into this row, sorted: the de-duplication record."""


def absorb(row: SinkRow, event: AnyEvent) -> bool:
    """Fold ``event`` into ``row``; False if the row already holds it (a redelivery)."""
    if event.event_id in row.event_ids:
        return False
    if isinstance(event, DecisionEvent):
        _absorb_decision(row, event)
    elif isinstance(event, LabelEvent):
        row.occurred_at = row.occurred_at or event.occurred_at
        if _later(event, row.label_at, row.label_event_id):
            row.label, row.label_source = event.label, event.source
            row.label_delay_seconds, row.label_propensity = event.delay_seconds, event.propensity
            row.label_at, row.label_event_id = event.at, event.event_id
    elif isinstance(event, DialogueEvent) and _later(
        event, row.dialogue_at, row.dialogue_event_id
    ):  # an ErasureEvent (topic "audit") never reaches a payment's row
        row.dialogue_id, row.dialogue_state = event.dialogue_id, event.state
        row.dialogue_answer = event.answer
        row.dialogue_at, row.dialogue_event_id = event.at, event.event_id
    row.event_ids = sorted([*row.event_ids, event.event_id])
    return True


def _absorb_decision(row: SinkRow, event: DecisionEvent) -> None:
    # The decision's occurred_at is authoritative (a label copies it from the same record).
    row.occurred_at, row.decided_at = event.occurred_at, event.at
    row.decision, row.score, row.model_version = event.decision, event.score, event.model_version
    row.reasons, row.features = list(event.reasons), dict(event.features)
    row.amount_minor, row.currency, row.channel = event.amount_minor, event.currency, event.channel
    row.merchant_id, row.terminal_id = event.merchant_id, event.terminal_id
    row.propensity, row.degraded = event.propensity, event.degraded


def _later(event: LabelEvent | DialogueEvent, at: datetime | None, event_id: str | None) -> bool:
    """Whether ``event`` is newer than what the row holds; ties break on the id, not arrival."""
    return at is None or (event.at, event.event_id) > (at, event_id or "")


class DatasetWriter:
    """The dataset folder as rows in memory, a journal, and atomic partition rewrites."""

    def __init__(self, out: Path, parts: int = 4) -> None:
        self.out = out
        self._parts = parts
        self._rows: dict[str, SinkRow] = {}
        self._where: dict[str, str] = {}
        self._members: dict[str, set[str]] = {}
        self._dirty: set[str] = set()
        self.added = 0
        self.duplicates = 0
        self._journalled = 0
        (out / STATE).mkdir(parents=True, exist_ok=True)
        self._load()
        self._journal: IO[bytes] = self._journal_path.open("ab")
        self.flush()  # the replayed journal goes into the partitions now

    @property
    def _journal_path(self) -> Path:
        return self.out / STATE / "journal.jsonl"

    @property
    def rows(self) -> int:
        return len(self._rows)

    def add(self, event: AnyEvent) -> bool:
        """Take one event in (journalled before it counts); False for a duplicate."""
        if not self._fold(event):
            self.duplicates += 1
            return False
        self._journal.write(event.model_dump_json(by_alias=True).encode() + b"\n")
        self._journal.flush()  # in the OS: a killed sink keeps it
        self.added += 1
        self._journalled += 1
        return True

    def flush(self) -> int:
        """Rewrite every touched partition atomically, then empty the journal."""
        dirty, self._dirty = sorted(self._dirty), set()
        for location in dirty:
            members = sorted(self._members.get(location, ()))
            _replace(
                self.out / location, [self._rows[p].model_dump_json().encode() for p in members]
            )
        if self._journalled:  # every journalled event is now in a partition file
            self._journal.truncate(0)
            self._journalled = 0
        return len(dirty)

    def close(self) -> None:
        self.flush()
        self._journal.close()

    def _fold(self, event: AnyEvent) -> bool:
        row = self._rows.get(event.payment_id)
        if row is None:
            row = self._rows[event.payment_id] = SinkRow(
                payment_id=event.payment_id, customer_id=event.customer_id
            )
        if not absorb(row, event):
            return False
        self._place(row)
        return True

    def _place(self, row: SinkRow, found_at: str | None = None) -> None:
        """Record where the row belongs; mark the partition files that must be rewritten."""
        part = f"part-{zlib.crc32(row.payment_id.encode()) % self._parts:02d}.jsonl"
        folder = PENDING if row.decision is None or row.occurred_at is None else (
            f"date={row.occurred_at.date().isoformat()}"
        )  # fmt: skip
        location = f"{folder}/{part}"
        old = self._where.get(row.payment_id, found_at)
        self._where[row.payment_id] = location
        self._members.setdefault(location, set()).add(row.payment_id)
        if old is not None and old != location:
            self._members.get(old, set()).discard(row.payment_id)
            self._dirty.update({old, location})
        elif found_at is None:  # the row changed (not merely loaded where it lies)
            self._dirty.add(location)

    def _load(self) -> None:
        for path in partition_files(self.out, pending=True):
            location = path.relative_to(self.out).as_posix()
            for line in _lines(path):
                row = SinkRow.model_validate_json(line)
                self._rows[row.payment_id] = row
                self._place(row, found_at=location)
        replayed = sum(
            self._fold(_EVENT.validate_json(line)) for line in _lines(self._journal_path)
        )
        log.info("sink %s: %d rows, %d journalled events replayed", self.out, self.rows, replayed)


def partition_files(out: Path, pending: bool = False) -> list[Path]:
    """Partition files of a dataset folder, in a stable order."""
    files = sorted(out.glob("date=*/part-*.jsonl"))
    return files + sorted((out / PENDING).glob("part-*.jsonl")) if pending else files


def _lines(path: Path) -> Iterator[bytes]:
    if not path.exists():
        return
    with path.open("rb") as handle:
        for line in handle:
            if line.endswith(b"\n") and line.strip():  # a torn last line is not an event
                yield line


def _replace(path: Path, lines: Sequence[bytes]) -> None:
    """Write ``path`` all at once (temp file, fsync, rename); remove it when empty."""
    if not lines:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    with temp.open("wb") as handle:
        handle.write(b"\n".join(lines) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


class FileLogReader:
    """A consumer of the embedded file log with a persisted byte offset per topic.

    The offsets live in the sink's state folder under the consumer's ``name``;
    ``commit`` saves how far events were handed out (call it after a flush).
    """

    def __init__(self, log_dir: Path, state: Path, name: str = "sink") -> None:
        self._dir = log_dir
        self._offsets_path = state / f"offsets-{name}.json"
        raw = self._offsets_path.read_bytes() if self._offsets_path.exists() else b"{}"
        self.offsets: dict[str, int] = orjson.loads(raw)
        self._handed = dict(self.offsets)

    async def events(self, poll_s: float = 0.2) -> AsyncGenerator[AnyEvent, None]:
        """Events past the committed offsets, then new ones as they are appended (forever)."""
        while True:
            for topic in TOPICS:
                for end, line in self._read(topic):
                    self._handed[topic] = end  # handed out = handled: the caller adds at once
                    yield _EVENT.validate_json(line)
            await asyncio.sleep(poll_s)

    def _read(self, topic: str) -> Iterator[tuple[int, bytes]]:
        path = self._dir / f"{topic}.jsonl"
        if not path.exists():
            return
        with path.open("rb") as handle:
            handle.seek(self._handed.get(topic, 0))
            for line in handle:
                if not line.endswith(b"\n"):
                    return  # the bus is still writing this line
                yield handle.tell(), line

    def commit(self) -> None:
        """Persist the offsets of every event handed out so far."""
        if self._handed != self.offsets:
            _replace(self._offsets_path, [orjson.dumps(self._handed)])
            self.offsets = dict(self._handed)


@dataclass
class SinkRun:
    """How a sink run ends and how often it flushes."""

    flush_seconds: float = 2.0
    idle_exit_seconds: float | None = None
    """Stop after this long without a new event (batch jobs and tests); None: run forever."""
    checkpoint: Callable[[], None] = field(default=lambda: None)
    """Called after each flush: the file-log reader commits its offsets there."""


async def run_sink(events: AsyncIterator[AnyEvent], writer: DatasetWriter, run: SinkRun) -> None:
    """Take events into the writer; flush periodically; stop when idle (if asked)."""
    last_event = time.monotonic()

    async def take() -> None:
        nonlocal last_event
        async for event in events:
            writer.add(event)
            last_event = time.monotonic()

    task = asyncio.create_task(take())
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=run.flush_seconds)
            _flush(writer, run)
            idle = time.monotonic() - last_event
            if run.idle_exit_seconds is not None and idle >= run.idle_exit_seconds:
                break
    finally:
        task.cancel()
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await task  # re-raises the reader's own failure, if it failed
        finally:
            _flush(writer, run)


def _flush(writer: DatasetWriter, run: SinkRun) -> None:
    writer.flush()
    run.checkpoint()
