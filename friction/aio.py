"""Small asyncio helpers shared by the background loops."""

from __future__ import annotations

import asyncio


def cancelled() -> bool:
    """True if this task was asked to stop, even if a library swallowed the CancelledError.

    Background loops catch ``Exception`` to survive outages; some clients (redis-py)
    turn a cancellation mid-command into a connection error, so a loop must check
    this before retrying, or shutdown waits for a task that never ends.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def checkpoint() -> None:
    """Raise CancelledError if this task was asked to stop (call at the top of a loop)."""
    if cancelled():
        raise asyncio.CancelledError
