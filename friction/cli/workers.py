"""``friction serve --workers N``: N processes accepting on one port (SO_REUSEPORT).

Each worker is a fresh interpreter (``spawn``, not ``fork``: numba, aiokafka and
the event loop do not survive a fork) that builds the same app from the same
settings and binds with ``reuse_port=True``; the kernel spreads connections over
them. The parent only starts, watches and stops the workers: SIGINT or SIGTERM is
passed on, and if one worker dies the others are stopped too (a supervisor such
as systemd or Kubernetes restarts the whole service).

Several processes need shared state: the embedded SQLite store and the file
event log have a single writer, so N > 1 requires ``FRICTION_STORE=redis://…``
and ``FRICTION_BUS=kafka://…``.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import time
from multiprocessing.process import BaseProcess
from types import FrameType

from friction.settings import Settings

STOP_TIMEOUT_S = 15.0


class WorkersRefused(ValueError):
    """``--workers N`` cannot run with these settings; the message says what to change."""


def check_workers(settings: Settings, workers: int) -> None:
    """Refuse settings that cannot be shared by ``workers`` processes."""
    if workers < 1:
        raise WorkersRefused("--workers must be at least 1")
    if workers == 1:
        return
    if settings.store == "embedded":
        raise WorkersRefused(
            f"--workers {workers} needs a shared store: the embedded SQLite store has a "
            "single writer. Set FRICTION_STORE=redis://host:port/0 (and "
            "FRICTION_BUS=kafka://host:port), or run one worker."
        )
    if settings.bus == "file":
        raise WorkersRefused(
            f"--workers {workers} needs a shared event bus: the file event log has a single "
            "writer. Set FRICTION_BUS=kafka://host:port, or run one worker."
        )
    if settings.http_port == 0:
        raise WorkersRefused("--workers > 1 needs a fixed port (FRICTION_HTTP_PORT or --port)")


def run_worker(settings: Settings, verbose: bool) -> None:
    """One worker: the service on the shared port (the target of each child process)."""
    from friction.api.access_log import access_log_options
    from friction.api.server import ListenRefused, bind, run
    from friction.app import build_app
    from friction.cli.common import configure_logging, listen_hint

    configure_logging(verbose)  # a spawned interpreter starts without the parent's logging
    try:  # the parent found the port free; another process may have taken it since
        sockets = bind(settings.http_host, settings.http_port, reuse_port=True)
    except ListenRefused as error:
        print(f"error: {listen_hint(error)}", file=sys.stderr)
        raise SystemExit(2) from None
    run(build_app(settings), sockets, **access_log_options(settings))


def serve_workers(settings: Settings, workers: int, verbose: bool = False) -> int:
    """Run ``workers`` processes until a signal or a worker's exit; the exit status."""
    context = multiprocessing.get_context("spawn")
    children: list[BaseProcess] = [
        context.Process(target=run_worker, args=(settings, verbose), name=f"friction-worker-{i}")
        for i in range(workers)
    ]
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for child in children:
            child.start()
        while not stopping and all(child.is_alive() for child in children):
            time.sleep(0.2)
    finally:
        _stop_all(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    failed = (c.exitcode for c in children if c.exitcode is not None and c.exitcode > 0)
    return 0 if stopping else next(failed, 1)  # a worker's own status (2: busy port) first


def _stop_all(children: list[BaseProcess]) -> None:
    """SIGTERM each live worker (aiohttp shuts down gracefully), then wait; kill laggards."""
    for child in children:
        if child.is_alive():
            child.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()
            child.join()
