"""The Redis connection pool: as large as the in-flight bound, and watched.

redis-py's default async pool holds 100 connections and fails a command at once
when all are taken. With ``FRICTION_MAX_INFLIGHT`` 256 requests in flight, 45-77 %
of answers went degraded on a perfectly healthy Redis (issue 15.1). Here every
admitted request can hold a connection, plus ``HEADROOM`` for the background tasks
(relay, dialogue timers, spill replay) and the exempt waiting requests (SSE,
long-polls); past that a caller waits for a connection, for less than the store
time-out, instead of failing. Each wait and each time-out is counted, so an
operator sees a pool that is too small before customers see degraded answers.

The pool is filled at start-up (``fill``): opening a connection takes several turns of
the event loop (connect, transport, handshake), and with hundreds of requests in flight a
turn can last ~0.1 s, so connections opened by the first burst of load timed out against
the store time-out: 1-17 % of answers went degraded at 256 connections on a healthy Redis
and a busy machine (docs/security.md), none with the pool filled first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import BlockingConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError

HEADROOM = 32
"""Connections beyond the in-flight bound: background tasks and exempt requests."""
WAIT_SHARE = 0.5
"""Longest wait for a free connection, as a share of the store time-out: the command
itself must still fit in what is left."""


def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class PoolWatch:
    """What to do when a caller finds every connection taken, and when it gives up."""

    waited: Callable[[], None] = _nothing
    timed_out: Callable[[], None] = _nothing


def pool_size(max_inflight: int) -> int:
    """Connections for one process admitting ``max_inflight`` requests at once."""
    return max_inflight + HEADROOM


class WatchedPool(BlockingConnectionPool):
    """A blocking pool that reports waits and time-outs waiting for a connection."""

    def __init__(self, watch: PoolWatch, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._watch = watch

    async def get_connection(self, *args: Any, **kwargs: Any) -> AbstractConnection:
        """A connection, counted as a wait when none was free at the time of asking."""
        if not self.can_get_connection():
            self._watch.waited()
        try:
            connection: AbstractConnection = await super().get_connection()  # type: ignore[no-untyped-call]
        except RedisConnectionError as error:
            # the pool's own time-out; a failed connect has a socket error as its cause
            if type(error) is RedisConnectionError and isinstance(error.__cause__, TimeoutError):
                self._watch.timed_out()
            raise
        return connection

    async def fill(self) -> int:
        """Open every connection now, while the loop is idle; how many opened (a Redis that
        is down at start-up opens none, and requests connect when it is back)."""
        opened = await asyncio.gather(
            *(self.get_connection() for _ in range(self.max_connections)), return_exceptions=True
        )
        connections = [c for c in opened if isinstance(c, AbstractConnection)]
        for connection in connections:
            await self.release(connection)
        return len(connections)
