"""The spill journal: decisions taken while the store was away, and lose none of them.

A decision taken in degraded mode (``service.degraded``) goes to this local journal and
is committed to the store as soon as it answers again, so after the outage the ledger
still holds:
responses given = decisions stored = decision events published.

A commit that timed out goes to the journal too, unchanged: a store that stalls
(a frozen Redis) still runs the commands it received once it resumes, so its
outcome is unknown, and the answer must be the decision that may land.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from friction.aio import cancelled, checkpoint
from friction.domain.records import (
    AnyEvent,
    Change,
    DialogueRecord,
    Mark,
    PaymentRecord,
    ReviewRecord,
)
from friction.errors import StoreUnavailable
from friction.ports import Records

log = logging.getLogger(__name__)
LOCK = "owner.lock"


SPILLED_MEMORY = 100_000
"""Spilled answers kept in memory until each is in the store (a longer outage's beyond it
are answered from the store once their line is replayed, or degraded anew before)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What a retry needs of a decision: the body it must match and the bytes it gets
    (~650 bytes, a fifth of a whole record: many are kept in memory)."""

    body_hash: str
    response: str


class AnswerMemory:
    """The answers a retry may need when the store cannot give them: every spilled decision
    until its own line is stored, and the latest ``recent`` answers (a gateway retries when
    the store is slow, so a retry must not need the store to get the first answer)."""

    def __init__(self, recent: int) -> None:
        self._recent = recent
        self._spilled: dict[str, Answer] = {}
        self._latest: dict[str, Answer] = {}  # insertion order: the oldest goes first

    def get(self, key: str) -> Answer | None:
        return self._spilled.get(key) or self._latest.get(key)

    def spilled(self, record: PaymentRecord) -> None:
        if len(self._spilled) < SPILLED_MEMORY:
            self._spilled[record.key] = Answer(record.body_hash, record.response)

    def stored(self, key: str) -> None:
        """A spilled decision's line is in the store: it is one of the latest now."""
        if (answer := self._spilled.pop(key, None)) is not None:
            self._keep(key, answer)

    def committed(self, record: PaymentRecord) -> None:
        self._keep(record.key, Answer(record.body_hash, record.response))

    def _keep(self, key: str, answer: Answer) -> None:
        self._latest[key] = answer
        if len(self._latest) > self._recent:
            del self._latest[next(iter(self._latest))]


class Spilled(BaseModel):
    """One journal line: a decision's change, as the scorer would have committed it."""

    model_config = ConfigDict(frozen=True)

    record: PaymentRecord
    events: list[Annotated[AnyEvent, Field(discriminator="type")]]
    dialogue: DialogueRecord | None = None
    challenge: tuple[str, float] | None = None
    marks: list[Mark] = []
    review: ReviewRecord | None = None

    @classmethod
    def of(cls, change: Change) -> Spilled:
        """The line for a scoring commit (a payment, its events and what they open)."""
        if change.payment is None or change.labels or change.preferences is not None:
            raise ValueError("only a scoring change (one payment, no labels) is spilled")
        return cls(
            record=change.payment,
            events=change.events,
            dialogue=change.dialogue,
            challenge=change.challenge,
            marks=change.marks,
            review=change.review,
        )

    @property
    def key(self) -> str:
        """Where the store keeps the payment."""
        return self.record.key

    def change(self) -> Change:
        """The change to commit, equal to the one that was spilled."""
        return Change(
            payment=self.record,
            dialogue=self.dialogue,
            events=list(self.events),
            challenge=self.challenge,
            marks=list(self.marks),
            review=self.review,
        )


class SpillJournal:
    """Decisions the store has not taken yet, in append-only segments, until it takes them.

    ``root`` holds one folder per process that ever spilled (workers share a data dir),
    locked (``flock``) while that process lives. Lines go to the folder's open segment;
    a replay closes it (later lines start the next one), commits the closed segments'
    lines the store does not have yet, and deletes a segment only once every line in
    it is stored. A folder whose process is gone is replayed by whichever process takes
    its lock first. A line is written before its answer is sent, with one ``write``
    (the OS has it if the process dies) and synced to disk when its segment closes
    (within a replay interval; as Redis' ``appendfsync everysec``).
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._own = root / f"{time.time_ns()}-{os.getpid()}"
        self._own.mkdir(parents=True)
        self._lock_file = _locked(self._own)
        self._segment = 0
        self._open: IO[bytes] | None = None
        self._replaying = asyncio.Lock()
        self._done: dict[Path, int] = {}  # lines of a segment already stored or set aside
        self.pending = 0
        """Lines this process spilled that are not known to be in the store yet."""

    def append(self, spilled: Spilled) -> None:
        """Write one line to the open segment (one system call: a line is whole or absent)."""
        if self._open is None:
            self._segment += 1
            self._open = (self._own / f"{self._segment:012d}.jsonl").open("ab", buffering=0)
        self._open.write(spilled.model_dump_json().encode() + b"\n")
        self.pending += 1

    async def replay(self, store: Records, on_stored: Callable[[Spilled], None]) -> int:
        """Commit the closed segments' lines the store lacks; ``on_stored`` for every line
        once it is known to be stored. Stops at the first store failure (the rest waits)."""
        async with self._replaying:
            self._close_segment()
            done = 0
            for folder, segments in self._replayable():
                with folder:
                    for segment in segments:
                        for line in _lines(segment)[self._done.get(segment, 0) :]:
                            try:
                                stored = await self._store_line(store, segment, line, on_stored)
                            except StoreUnavailable:
                                return done
                            self._done[segment] = self._done.get(segment, 0) + 1
                            done += int(stored)
                            self.pending -= int(folder.own)
                        self._done.pop(segment, None)
                        segment.unlink()
            return done

    async def _store_line(
        self, store: Records, segment: Path, line: bytes, on_stored: Callable[[Spilled], None]
    ) -> bool:
        """Commit one line unless the store has it; an unreadable one is set aside (False)."""
        try:
            spilled = Spilled.model_validate_json(line)
        except ValidationError:
            log.error("%s: an unreadable line, kept in .unreadable", segment)
            with segment.with_suffix(".unreadable").open("ab") as aside:
                aside.write(line + b"\n")
            return False
        if await store.get_payment(spilled.key) is None:
            await store.commit(spilled.change())
        on_stored(spilled)
        return True

    async def run(
        self, store: Records, every_seconds: float, on_stored: Callable[[Spilled], None]
    ) -> None:
        """Replay forever, every ``every_seconds``."""
        while True:
            checkpoint()  # a library may have swallowed our cancellation
            await asyncio.sleep(every_seconds)
            try:
                replayed = await self.replay(store, on_stored)
            except Exception:  # a line the store refuses: loud, and kept until it is taken
                if cancelled():
                    raise
                log.exception("spill journal replay failed; retrying")
                continue
            if replayed:
                log.info("store answers: %d spilled decisions committed", replayed)

    def close(self) -> None:
        """Close the open segment and hand back the folder (removed if nothing is left)."""
        self._close_segment()
        _remove_if_empty(self._own)
        self._lock_file.close()

    def _close_segment(self) -> None:
        if self._open is not None:
            os.fsync(self._open.fileno())
            self._open.close()
            self._open = None

    def _replayable(self) -> Iterator[tuple[_Folder, list[Path]]]:
        """This process's closed segments, then every folder whose process is gone."""
        yield _Folder(self._own, None), sorted(self._own.glob("*.jsonl"))
        for other in sorted(p for p in self._root.iterdir() if p != self._own and p.is_dir()):
            try:
                lock = _locked(other)
            except (BlockingIOError, FileNotFoundError):
                continue  # alive, or being replayed by another process
            yield _Folder(other, lock), sorted(other.glob("*.jsonl"))


class _Folder:
    """A folder being replayed: an orphan's is removed once its segments are all gone."""

    def __init__(self, path: Path, lock: IO[bytes] | None) -> None:
        self.path, self.own, self._lock = path, lock is None, lock

    def __enter__(self) -> _Folder:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            _remove_if_empty(self.path)
            self._lock.close()


def _remove_if_empty(folder: Path) -> None:
    """Remove a folder (with its lock, still held) once nothing but the lock is left."""
    if all(path.name == LOCK for path in folder.iterdir()):
        (folder / LOCK).unlink()
        with contextlib.suppress(OSError):  # another process just opened a lock here: theirs
            folder.rmdir()


def _locked(folder: Path) -> IO[bytes]:
    """The folder's lock file, locked by this process (BlockingIOError: someone holds it)."""
    handle = (folder / LOCK).open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        handle.close()
        raise
    return handle


def _lines(segment: Path) -> list[bytes]:
    """A segment's lines. A last line cut short (the process died mid-write, before its
    answer left) was never answered and is skipped."""
    whole, _, torn = segment.read_bytes().rpartition(b"\n")
    if torn:
        log.warning("%s: a torn last line (%d bytes) skipped", segment, len(torn))
    return whole.splitlines()
