"""The bench's load generator: HTTP/1.1 keep-alive on raw asyncio, closed and open loop.

Why not aiohttp's client: it spends ~100 µs of CPU per request, so on a 2-core
machine the generator, not the server, would set the floor's ceiling. This client
writes pre-built request bytes and parses only the status line and Content-Length
(~15 µs per request), so a single-process server saturates before it does.
Why not wrk: it has no fixed arrival rate (that is wrk2, not packaged in Debian), and
its Lua hooks cannot tell which connection a response came on, so latencies of an
open-loop run cannot be measured from the moment a request was due.

- ``closed_loop``: ``concurrency`` connections, each sending its next request as soon
  as the last one is answered (the throughput ceiling).
- ``open_loop``: requests issued at a fixed rate whatever the server does; a request's
  latency runs from the moment it was issued, so time spent waiting for a free
  connection (server backlog) counts — no coordinated omission beyond the ~1 ms
  granularity of the event loop's timer.
- ``slowloris``: sockets that send a request's headers and then its body a byte a
  second, re-created a second after the server answers or closes one (the faults
  bench and ``tests/integration/test_slow_clients.py``); ``SlowlorisProcess`` runs it
  in a process of its own, so its sockets do not slow the loop that measures a tenant.

A 429 is neither a success nor an error: its latency is kept apart (``shed_s``), since
how fast an overloaded server says "come back later" is part of what it costs.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Protocol

import numpy as np

MakeBody = Callable[[int], bytes]
Tick = Callable[[float], None]
REQUEST_TIMEOUT_S = 10.0
DRAIN_S = 5.0  # open loop: requests still queued this long after the last is issued fail


class Window(Protocol):
    """Told when a closed loop's measured window opens and closes (the bench reads CPU)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Target:
    """Where to send and how to build the n-th request body (unique per n)."""

    port: int
    path: str
    make_body: MakeBody
    host: str = "127.0.0.1"

    def request(self, n: int) -> bytes:
        """The complete HTTP request bytes for request number ``n``."""
        body = self.make_body(n)
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body


@dataclass
class Result:
    """What one load phase measured."""

    seconds: float
    latencies_s: list[float] = field(default_factory=list)
    shed_s: list[float] = field(default_factory=list)
    errors: int = 0
    response_bytes: int = 0

    @property
    def ok(self) -> int:
        """Responses with a 2xx status inside the measured window."""
        return len(self.latencies_s)

    def summary(self) -> dict[str, float]:
        """Throughput, latency percentiles (ms), errors and mean response size; with 429s,
        how many and their p99."""
        lat = np.asarray(self.latencies_s) * 1000 if self.latencies_s else np.zeros(1)
        p50, p99, p999 = np.percentile(lat, [50, 99, 99.9])
        out = {
            "rps": round(self.ok / self.seconds, 1),
            "p50_ms": round(float(p50), 3),
            "p99_ms": round(float(p99), 3),
            "p999_ms": round(float(p999), 3),
            "errors": self.errors,
            "ok": self.ok,
            "bytes": round(self.response_bytes / max(self.ok, 1), 1),
        }
        if self.shed_s:
            out["shed"] = len(self.shed_s)
            out["shed_p99_ms"] = round(float(np.percentile(self.shed_s, 99)) * 1000, 3)
        return out


class _Conn(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, int]] | None = None
        self.transport: asyncio.Transport | None = None
        self.sent_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # always TCP here
        _LIVE.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        _LIVE.discard(self)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("connection closed by the server"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0 or self._waiter is None:
            return
        head = bytes(self._buffer[:end]).lower() + b"\r\n"
        at = head.find(b"content-length:") + 15
        length = int(head[at : head.find(b"\r\n", at)])
        if len(self._buffer) < end + 4 + length:
            return
        status = int(head[9:12])
        del self._buffer[: end + 4 + length]
        if not self._waiter.done():  # else it expired and the connection is closing
            self._waiter.set_result((status, length))

    async def send(self, data: bytes) -> tuple[int, int]:
        """Send one request; the (status, body length) of its response."""
        if self.transport is None:
            raise ConnectionError("not connected")
        # No wait_for per request (it costs a task each): _expire() times requests out.
        self._waiter = asyncio.get_running_loop().create_future()
        self.sent_at = time.perf_counter()
        self.transport.write(data)
        return await self._waiter

    def expire(self, now: float) -> None:
        """Fail the request in flight if it has waited longer than REQUEST_TIMEOUT_S."""
        waiter = self._waiter
        if waiter is not None and not waiter.done() and now - self.sent_at > REQUEST_TIMEOUT_S:
            waiter.set_exception(TimeoutError("no response in time"))
            if self.transport is not None:
                self.transport.close()


_LIVE: set[_Conn] = set()


async def _connect(target: Target) -> _Conn:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(_Conn, target.host, target.port)
    return conn


class _Counter:
    """Request numbers shared by all connections of a run (unique payment ids)."""

    def __init__(self, start: int) -> None:
        self.value = start

    def next(self) -> int:
        self.value += 1
        return self.value


async def _exchange(conn: _Conn | None, target: Target, n: int) -> tuple[_Conn | None, int, int]:
    """One request on ``conn`` (reconnecting if needed): (conn, status or 0, bytes)."""
    try:
        if conn is None or conn.transport is None:
            conn = await _connect(target)
        status, size = await conn.send(target.request(n))
        return conn, status, size
    except (OSError, TimeoutError, ValueError):
        if conn is not None and conn.transport is not None:
            conn.transport.close()
        return None, 0, 0


def _record(result: Result, started: float, status: int, size: int, counting: bool) -> None:
    if not counting:
        return
    if 200 <= status < 300:
        result.latencies_s.append(time.perf_counter() - started)
        result.response_bytes += size
    elif status == 429:
        result.shed_s.append(time.perf_counter() - started)
    else:
        result.errors += 1


async def closed_loop(
    target: Target,
    concurrency: int,
    seconds: float,
    warmup: float,
    first: int,
    tick: Tick,
    window: Window | None = None,
) -> Result:
    """``concurrency`` connections back to back for ``warmup`` + ``seconds``; ``window`` is
    told when the measured ``seconds`` begin and end."""
    result = Result(seconds=seconds)
    counter = _Counter(first)
    begin = time.perf_counter()
    measure_from, stop_at = begin + warmup, begin + warmup + seconds
    if window is not None:
        loop = asyncio.get_running_loop()
        loop.call_later(warmup, window.start)
        loop.call_later(warmup + seconds, window.stop)

    async def user() -> None:
        conn: _Conn | None = None
        while (started := time.perf_counter()) < stop_at:
            conn, status, size = await _exchange(conn, target, counter.next())
            _record(result, started, status, size, started >= measure_from)
        if conn is not None and conn.transport is not None:
            conn.transport.close()

    await _ticking([user() for _ in range(concurrency)], begin, warmup + seconds, tick)
    return result


async def open_loop(
    target: Target, rate: float, seconds: float, connections: int, first: int, tick: Tick
) -> Result:
    """Requests issued at ``rate`` per second for ``seconds``, on up to ``connections``."""
    result = Result(seconds=seconds)
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()

    async def user() -> None:
        conn: _Conn | None = None
        while (item := await queue.get()) is not None:
            n, issued = item
            if time.perf_counter() > give_up_at:  # a backlog the server will never clear
                result.errors += 1
                continue
            conn, status, size = await _exchange(conn, target, n)
            _record(result, issued, status, size, True)
        if conn is not None and conn.transport is not None:
            conn.transport.close()

    async def pacer() -> None:
        begin, issued = time.perf_counter(), 0
        total = int(rate * seconds)
        while issued < total:
            due = min(total, int((time.perf_counter() - begin) * rate) + 1)
            now = time.perf_counter()
            for n in range(issued, due):
                queue.put_nowait((first + n, now))
            issued = due
            await asyncio.sleep(0.0005)
        for _ in range(connections):
            queue.put_nowait(None)

    users = [user() for _ in range(connections)]
    begin = time.perf_counter()
    give_up_at = begin + seconds + DRAIN_S
    await _ticking([pacer(), *users], begin, seconds, tick, hard_stop=give_up_at)
    result.seconds = max(seconds, time.perf_counter() - begin)
    # in flight at the hard stop: failed too
    result.errors = int(rate * seconds) - result.ok - len(result.shed_s)
    return result


async def slowloris(
    port: int, paths: Sequence[str], sockets: int, stop: asyncio.Event
) -> Counter[int]:
    """``sockets`` slow requests spread over ``paths`` until ``stop``: each sends its headers
    (a 1000-byte body announced), ``{``, then a space a second. Returns the statuses the
    server answered them with (a socket closed without an answer counts nothing)."""
    answers: Counter[int] = Counter()

    async def one(path: str) -> None:
        form = "twilio" in path  # Twilio posts forms; the rest JSON
        ctype = "application/x-www-form-urlencoded" if form else "application/json"
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
                "Content-Length: 1000\r\n\r\n{").encode()  # fmt: skip
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(1.0)
                continue
            status_line = asyncio.ensure_future(reader.readline())
            try:
                writer.write(head)
                while not stop.is_set():
                    done, _ = await asyncio.wait([status_line], timeout=1.0)
                    if done:
                        break
                    writer.write(b" ")
                answered = status_line.done() and not status_line.exception()
                if answered and (found := re.match(rb"HTTP/1.1 (\d+)", status_line.result())):
                    answers[int(found.group(1))] += 1
            except OSError:
                pass
            finally:
                status_line.cancel()
                writer.close()
            await asyncio.sleep(1.0)

    await asyncio.gather(*(one(paths[i % len(paths)]) for i in range(sockets)))
    return answers


class SlowlorisProcess:
    """``slowloris`` in a spawned process from ``start()`` to ``stop()``, which returns the
    statuses the slow sockets were answered with."""

    def __init__(self, port: int, paths: Sequence[str], sockets: int) -> None:
        spawn = multiprocessing.get_context("spawn")
        self._stop = spawn.Event()
        self._answers: multiprocessing.Queue[dict[int, int]] = spawn.Queue()
        args = (port, tuple(paths), sockets, self._stop, self._answers)
        self._process = spawn.Process(target=_slowloris_until, args=args, daemon=True)

    def start(self) -> None:
        self._process.start()

    def stop(self) -> Counter[int]:
        """Stop the sockets (within ~2 s: each finishes its wait) and collect the answers."""
        self._stop.set()
        answers = self._answers.get(timeout=60)
        self._process.join(timeout=10)
        return Counter(answers)


def _slowloris_until(
    port: int,
    paths: Sequence[str],
    sockets: int,
    stop: ProcessEvent,
    out: multiprocessing.Queue[dict[int, int]],
) -> None:
    async def attack() -> dict[int, int]:
        stopped = asyncio.Event()

        async def watch() -> None:
            await asyncio.to_thread(stop.wait)
            stopped.set()

        watcher = asyncio.ensure_future(watch())
        answers = await slowloris(port, paths, sockets, stopped)
        await watcher
        return dict(answers)

    out.put(asyncio.run(attack()))


async def _ticking(
    coros: list[object], begin: float, total: float, tick: Tick, hard_stop: float = math.inf
) -> None:
    """Run the coroutines (cancelled at ``hard_stop``); report progress every 100 ms."""
    tasks = [asyncio.ensure_future(c) for c in coros]  # type: ignore[call-overload]
    gathered = asyncio.gather(*tasks)
    while not gathered.done():
        await asyncio.wait([gathered], timeout=0.1)
        now = time.perf_counter()
        for conn in list(_LIVE):
            conn.expire(now)
        tick(min(1.0, (now - begin) / total))
        if now > hard_stop:
            gathered.cancel()
            await asyncio.gather(gathered, return_exceptions=True)
            for conn in list(_LIVE):
                if conn.transport is not None:
                    conn.transport.close()
            return
    gathered.result()
