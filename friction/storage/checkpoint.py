"""WAL checkpoints of the embedded store, run beside the event loop instead of inside it.

Why: SQLite checkpoints automatically inside the COMMIT that pushes the WAL past
``wal_autocheckpoint`` pages: it copies those pages into the database file and syncs the
disk, 30-70 ms on this VM, on the event loop: every request in flight waited for it, and
it was the p99 of the embedded store (docs/performance.md). Here a second connection runs
PASSIVE checkpoints in a thread, often and small: the writer is never blocked by it (WAL
mode), and the ``sqlite3`` module releases the GIL while it steps. Once a checkpoint has
copied the whole WAL, the next commit starts the WAL over, so the writer's own automatic
checkpoint (kept as a backstop) rarely fires, and finds little left to copy when it does.
Durability does not change: a commit is durable once it is in the WAL; a checkpoint only
moves pages that are already there.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

EVERY_S = 0.25
"""Pause between two checkpoints. Shorter copies hot pages more often for nothing: at 50 ms
the service spent ~10 % more CPU per decision (docs/performance.md)."""


class Checkpointer:
    """A daemon thread checkpointing one SQLite file until ``close``."""

    def __init__(self, path: Path, every_s: float = EVERY_S) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._every = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failed = False
        while not self._stop.wait(self._every):
            try:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                failed = False
            except sqlite3.Error as error:  # the writer's backstop checkpoint still runs
                if not failed:
                    log.warning("sqlite checkpoint failed (%s); retrying", type(error).__name__)
                failed = True

    def close(self) -> None:
        """Stop the thread and close its connection (before the writer's: the last one
        to close checkpoints the whole WAL and removes it)."""
        self._stop.set()
        self._thread.join()
        self._db.close()
