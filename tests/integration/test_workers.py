"""``friction serve --workers 2`` on Redis + Kafka: two processes share the port and both serve."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.servers import free_port

pytestmark = pytest.mark.timeout(90)
FRICTION = Path(sys.executable).parent / "friction"
METRICS_COUNT = re.compile(r'friction_request_seconds_count\{[^}]*route="/metrics"[^}]*\} (\d+)')


def _get(url: str) -> str:
    # urllib opens a new connection per call: SO_REUSEPORT balances connections, not requests
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def _wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "friction serve --workers 2 exited early"
        try:
            _get(url)
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail("friction serve --workers 2 did not become ready")


def _both_answer(url: str, seconds: float) -> bool:
    """Whether two processes answer: one process's own /metrics count only ever grows."""
    deadline, last = time.monotonic() + seconds, -1
    while time.monotonic() < deadline:  # the second worker may still be loading its model
        match = METRICS_COUNT.search(_get(url))
        count = int(match.group(1)) if match else 0
        if count <= last:
            return True
        last = count
        time.sleep(0.02)
    return False


def _env(tmp_path: Path, models_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRICTION_")}
    env.update(FRICTION_DATA_DIR=str(tmp_path), FRICTION_MODELS_DIR=str(models_dir), **extra)
    return env


def test_two_workers_share_the_port_and_both_serve(
    tmp_path: Path, models_dir: Path, redis_url: str, kafka_bootstrap: str
) -> None:
    port = free_port()
    env = _env(
        tmp_path,
        models_dir,
        FRICTION_STORE=redis_url.rsplit("/", 1)[0] + "/5",
        FRICTION_BUS=f"kafka://{kafka_bootstrap}",
        FRICTION_KAFKA_IDEMPOTENT="false",
    )
    argv = [str(FRICTION), "serve", "--workers", "2", "--port", str(port)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base + "/readyz", proc)
        workers = psutil.Process(proc.pid).children()
        assert len([w for w in workers if w.cmdline() and "python" in w.cmdline()[0]]) >= 2
        assert _both_answer(base + "/metrics", seconds=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    # the workers are joined before the parent exits; multiprocessing's resource tracker
    # (also a child) leaves when it sees the parent's pipe close, a moment later
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not [w for w in alive if w.status() != psutil.STATUS_ZOMBIE]


def test_embedded_store_refuses_more_than_one_worker(tmp_path: Path, models_dir: Path) -> None:
    argv = [str(FRICTION), "serve", "--workers", "2", "--port", str(free_port())]
    done = subprocess.run(argv, env=_env(tmp_path, models_dir), capture_output=True, timeout=60)
    assert done.returncode == 2
    assert b"FRICTION_STORE=redis://" in done.stderr
