"""Real Redis and Kafka-protocol servers, started on loopback for the test session.

The servers are installed by ``scripts/install-test-servers.sh``; a missing binary
fails the test (never skips it), so a green run always means "tested for real".
Fault tests take the ``redis_server`` / ``kafka_server`` fixtures and call
``stop()``, ``kill()``, ``start()`` or ``restart()``: the port stays the same, so
clients built from ``redis_url`` / ``kafka_bootstrap`` reconnect by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

ROOT = Path(__file__).resolve().parent.parent
INSTALL_HINT = "run `scripts/install-test-servers.sh` (installs redis-server and the tansu broker)"
TANSU_BIN = ROOT / ".test-servers" / "bin" / "tansu"
READY_TIMEOUT_S = 15.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


def _redis_serves(port: int) -> bool:
    """PONG, not just an open port: while Redis loads its AOF it answers ``-LOADING``."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64).startswith(b"+PONG")
    return False


class ServerProcess:
    """One server process on a fixed loopback port that a test may stop and start again."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        log_path: Path,
        ready: Callable[[int], bool] = _accepts,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.log_path = log_path
        self._ready = ready
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the process and wait until it serves on its port."""
        if self.running:
            return
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self._ready(self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log_path.read_text(errors="replace")[-2000:]
                pytest.fail(f"{self.name} did not come up on port {self.port}:\n{tail}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), as an operator would."""
        self._end(kill=False)

    def kill(self) -> None:
        """Stop abruptly (SIGKILL), as a crash would."""
        self._end(kill=True)

    def freeze(self) -> None:
        """Suspend the process (SIGSTOP): its port still accepts, nothing answers, as in a
        long GC pause, a swapped-out host or a stalled disk."""
        assert self._proc is not None and self.running, f"{self.name} is not running"
        self._proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Resume a frozen process (SIGCONT)."""
        assert self._proc is not None and self.running, f"{self.name} is not running"
        self._proc.send_signal(signal.SIGCONT)

    def restart(self, kill: bool = False) -> None:
        """Stop (or kill) and start again on the same port."""
        self._end(kill=kill)
        self.start()

    def _end(self, kill: bool) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        if kill:
            proc.kill()
        else:
            proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _accepts(self.port) and time.monotonic() < deadline:
            time.sleep(0.02)


def _binary(found: str | Path | None, what: str) -> str:
    """Path of a server binary, or fail the test with the install hint."""
    if found is None or not Path(found).is_file():
        pytest.fail(f"{what} not found: {INSTALL_HINT}", pytrace=False)
    return str(found)


def redis_process(workdir: Path) -> ServerProcess:
    """A redis-server with AOF: a graceful restart keeps data, a kill may lose ~1 s."""
    binary = _binary(shutil.which("redis-server"), "redis-server")
    port = free_port()
    argv = [
        binary,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--save", "",
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--dir", str(workdir),
        "--protected-mode", "yes",
    ]  # fmt: skip
    return ServerProcess("redis-server", argv, port, workdir / "redis.log", _redis_serves)


def tansu_process(workdir: Path) -> ServerProcess:
    """A Tansu broker (memory storage: a restart forgets all topics) on a free loopback port."""
    binary = _binary(TANSU_BIN if TANSU_BIN.is_file() else shutil.which("tansu"), "tansu broker")
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    argv = [
        binary,
        "broker",
        "--listener-url", url,
        "--advertised-listener-url", url,
        "--storage-engine", "memory://tansu/",
    ]  # fmt: skip
    return ServerProcess("tansu", argv, port, workdir / "tansu.log")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The session's Redis server process (stop/kill/restart it in fault tests)."""
    server = redis_process(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[ServerProcess]:
    """A Redis server for one test alone: a fault test may freeze or kill it."""
    (tmp_path / "redis").mkdir()
    server = redis_process(tmp_path / "redis")
    server.start()
    yield server
    if server.running:
        server.thaw()  # a frozen process ignores SIGTERM until it runs again
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: ServerProcess) -> str:
    """``redis://`` URL of the session's Redis server (database 0)."""
    return f"redis://127.0.0.1:{redis_server.port}/0"


@pytest.fixture(scope="session")
def kafka_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The session's Kafka-protocol broker process (stop/kill/restart it in fault tests)."""
    server = tansu_process(tmp_path_factory.mktemp("tansu"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_server: ServerProcess) -> str:
    """Bootstrap address (``host:port``) of the session's broker."""
    return f"127.0.0.1:{kafka_server.port}"


def service_env(data_dir: Path, models_dir: Path, **friction: str) -> dict[str, str]:
    """The environment of a ``friction serve`` child: this one's, minus any FRICTION_*
    setting, plus a data dir, the test models, a free port and ``friction`` (FRICTION_ names
    without the prefix)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRICTION_")}
    env |= {"FRICTION_DATA_DIR": str(data_dir), "FRICTION_MODELS_DIR": str(models_dir)}
    env["FRICTION_HTTP_PORT"] = str(free_port())
    env["FRICTION_OCCURRED_AT_MAX_AGE_DAYS"] = "36500"  # simulated history is replayed
    return env | {f"FRICTION_{name.upper()}": value for name, value in friction.items()}


@contextlib.asynccontextmanager
async def serving(env: dict[str, str], log_path: Path) -> AsyncIterator[Service]:
    """A ready ``friction serve`` child for the block; stopped gracefully after it."""
    service = Service(env, log_path)
    async with aiohttp.ClientSession() as session:
        await service.start(session)
    try:
        yield service
    finally:
        service.end(kill=False)


class Service:
    """``python -m friction serve`` as a child process that the test may SIGKILL."""

    def __init__(self, env: dict[str, str], log_path: Path, verbose: bool = False) -> None:
        self.port = int(env["FRICTION_HTTP_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self._env, self._log = env, log_path
        self._argv = [sys.executable, "-m", "friction", *(["-v"] if verbose else []), "serve"]
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self, session: aiohttp.ClientSession) -> None:
        with self._log.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once
                self._argv, env=self._env, cwd=ROOT,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self._log.read_text()[-3000:]
            try:
                async with session.get(f"{self.url}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        pytest.fail(f"service did not become ready:\n{self._log.read_text()[-3000:]}")

    def end(self, kill: bool) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill() if kill else proc.terminate()
            proc.wait(timeout=30)


async def metric(session: aiohttp.ClientSession, base: str, name: str) -> float:
    """One unlabelled sample of a service's ``/metrics`` (fails the test if it is missing)."""
    async with session.get(base + "/metrics") as response:
        text = await response.text()
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found is not None, f"{name} missing from /metrics"
    return float(found.group(1))


@contextlib.asynccontextmanager
async def receiver(path: str, handler: Handler) -> AsyncIterator[str]:
    """A POST endpoint on 127.0.0.1 (a gateway's webhook receiver, say); yields its URL."""
    app = web.Application()
    app.router.add_post(path, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url(path))
    finally:
        await server.close()
