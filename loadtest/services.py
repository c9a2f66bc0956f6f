"""What the bench runs load against: processes on loopback, each stopped when its block ends.

- ``floor``: ``loadtest/floor.py`` (HTTP + JSON only);
- ``friction``: ``friction serve`` with a temp data dir and the bench model, embedded
  or on Redis + Kafka (real servers started with ``tests/servers.py``'s helpers);
- ``peer``: MLServer + its XGBoost runtime from ``.test-servers/mlserver-venv``
  (``scripts/install-bench-peer.sh``) serving the same ``model.json``.

And the request bodies: unique payments for friction and the floor, V2 inference
requests (one row of the same features) for the peer.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from loadgen import MakeBody

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.servers import ServerProcess, free_port, redis_process, tansu_process  # noqa: E402

PYTHON = ROOT / ".venv" / "bin" / "python"
MLSERVER = ROOT / ".test-servers" / "mlserver-venv" / "bin" / "mlserver"
BENCH_MODELS = ROOT / ".test-servers" / "bench" / "models"
READY_TIMEOUT_S = 60.0


class Unavailable(Exception):
    """A target that cannot run here; the message says why (shown in the table)."""


def _loads(models: Path) -> bool:
    from friction.scoring.registry import NoModel, load_model

    try:
        load_model(models)
    except NoModel:  # absent, or trained on other features than today's code computes
        return False
    return True


def resolve_models(explicit: Path | None) -> Path:
    """``--models``, else the bundled ``models/`` champion, else a bench model (trained once).

    The bench model is cached per feature schema: when the feature list changes, the next
    run trains a new one (a minute or more on a busy machine) instead of failing to load.
    """
    from friction.scoring.features import FEATURE_NAMES
    from friction.scoring.registry import schema_hash

    if explicit is not None:
        if not _loads(explicit):
            raise SystemExit(f"error: {explicit} has no loadable champion; run `friction train`")
        return explicit
    cached = BENCH_MODELS / schema_hash(FEATURE_NAMES)[:12]
    for candidate in (ROOT / "models", cached):
        if _loads(candidate):
            return candidate
    from friction.offline.train import TrainOptions, train
    from friction.simulation import SimConfig, write_stream

    print("no loadable model: training a bench model once ...", file=sys.stderr)
    cached.mkdir(parents=True, exist_ok=True)
    stream = cached / "stream.jsonl"
    write_stream(SimConfig(seed=11, days=14, customers=600), stream, progress=True)
    train(TrainOptions(data=stream, models_dir=cached, promote="always", progress=True))
    return cached


def champion_file(models: Path) -> Path:
    """The champion's XGBoost JSON file."""
    return models / (models / "CHAMPION").read_text().strip() / "model.json"


def _ready(url: str) -> bool:
    with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
        return bool(response.status == 200)
    return False


@contextlib.contextmanager
def process(argv: list[str], env: dict[str, str], ready_url: str, log: Path) -> Iterator[int]:
    """Run ``argv`` until the block ends; wait for ``ready_url`` to answer 200 first. Yields
    its pid (the bench reads the CPU time of its process tree)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _ready(ready_url):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-800:]
                raise Unavailable(f"{Path(argv[0]).name} did not become ready: {tail}")
            time.sleep(0.1)
        yield proc.pid
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # aiohttp and MLServer shut down cleanly on it
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@contextlib.contextmanager
def floor(workdir: Path, port: int) -> Iterator[int]:
    """The floor app on ``port`` (yields its pid, as the other starters do)."""
    argv = [str(PYTHON), str(ROOT / "loadtest" / "floor.py"), "--port", str(port)]
    url = f"http://127.0.0.1:{port}/healthz"
    with process(argv, dict(os.environ), url, workdir / "floor.log") as pid:
        yield pid


@contextlib.contextmanager
def ceiling(workdir: Path, models: Path, port: int) -> Iterator[int]:
    """The ceiling app (floor + validation, features, model) on ``port``."""
    argv = [str(PYTHON), str(ROOT / "loadtest" / "ceiling.py"), "--port", str(port)]
    argv += ["--models", str(models)]
    url = f"http://127.0.0.1:{port}/healthz"
    with process(argv, dict(os.environ), url, workdir / "ceiling.log") as pid:
        yield pid


def friction_env(data: Path, models: Path, port: int, extra: dict[str, str]) -> dict[str, str]:
    """The environment of a ``friction serve`` for the bench: state in ``data``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRICTION_")}
    env.update(
        FRICTION_DATA_DIR=str(data),
        FRICTION_MODELS_DIR=str(models),
        FRICTION_HTTP_PORT=str(port),
        FRICTION_PUBLIC_URL=f"http://127.0.0.1:{port}",
        **extra,
    )
    return env


@contextlib.contextmanager
def friction(
    workdir: Path, models: Path, port: int, extra: dict[str, str], workers: int = 1
) -> Iterator[int]:
    """``friction serve`` on ``port`` with ``extra`` settings (e.g. the Redis store)."""
    data = workdir / f"friction-{port}"
    argv = [str(ROOT / ".venv" / "bin" / "friction"), "serve"]
    if workers > 1:
        argv += ["--workers", str(workers)]
    env = friction_env(data, models, port, extra)
    url = f"http://127.0.0.1:{port}/readyz"
    with process(argv, env, url, workdir / f"friction-{port}.log") as pid:
        yield pid


@dataclass(frozen=True)
class Backends:
    """A Redis and a Tansu broker on loopback, and the FRICTION_* settings that use them."""

    env: dict[str, str]
    redis: ServerProcess
    """The Redis process, for fault scenarios (freeze, kill)."""


@contextlib.contextmanager
def redis_and_kafka(workdir: Path) -> Iterator[Backends]:
    """A Redis and a Tansu broker on loopback until the block ends."""
    servers: list[ServerProcess] = []
    try:
        for make, sub in ((redis_process, "redis"), (tansu_process, "tansu")):
            (workdir / sub).mkdir(exist_ok=True)
            servers.append(make(workdir / sub))
            servers[-1].start()
    except BaseException as error:  # tests.servers fails with pytest's Failed
        for server in servers:
            server.stop()
        raise Unavailable(f"Redis/Kafka servers: {str(error)[:300]}") from None
    redis, tansu = servers
    try:
        yield Backends(
            {
                "FRICTION_STORE": f"redis://127.0.0.1:{redis.port}/0",
                "FRICTION_BUS": f"kafka://127.0.0.1:{tansu.port}",
                "FRICTION_KAFKA_IDEMPOTENT": "false",  # Tansu has no idempotent producer
            },
            redis,
        )
    finally:
        for server in reversed(servers):
            if server.running:
                server.thaw()  # a frozen server ignores SIGTERM until it runs again
            server.stop()


@contextlib.contextmanager
def peer(workdir: Path, models: Path, port: int) -> Iterator[int]:
    """MLServer serving the champion as model ``friction`` on ``port``."""
    if not MLSERVER.is_file():
        raise Unavailable("MLServer not installed: run scripts/install-bench-peer.sh")
    home = workdir / "mlserver"
    (home / "friction").mkdir(parents=True, exist_ok=True)
    shutil.copy(champion_file(models), home / "friction" / "model.json")
    settings = {"http_port": port, "grpc_port": free_port(), "metrics_port": free_port()}
    (home / "settings.json").write_text(json.dumps(settings))
    model = {"name": "friction", "implementation": "mlserver_xgboost.XGBoostModel"}
    (home / "friction" / "model-settings.json").write_text(json.dumps(model))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLSERVER", "VIRTUAL_ENV"))}
    url = f"http://127.0.0.1:{port}/v2/models/friction/ready"
    with process([str(MLSERVER), "start", str(home)], env, url, workdir / "mlserver.log") as pid:
        yield pid


PAYMENT = (
    '{"payment_id":"b%s-%09d","occurred_at":"%s","amount":{"value":%d,"currency":"EUR"},'
    '"customer":{"id":"cus_%05d","phone":"+4477009%05d","locale":"en-GB"},'
    '"instrument":{"token":"tok_%05d","bin":"424242","last4":"4242"},'
    '"merchant":{"id":"mer_%03d","name":"ACME Electronics","mcc":"5732","country":"GB"},'
    '"channel":"ecom","device":{"id":"dev_%05d","ip":"203.0.113.7"}}'
)


def payments(run: str, customers: int = 5000, merchants: int = 200) -> MakeBody:
    """Unique payments (fresh ``payment_id`` each: a reused id would measure the cache)."""

    def make(n: int) -> bytes:
        cus = n % customers
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        amount = 500 + (n * 7919) % 60000
        return (PAYMENT % (run, n, now, amount, cus, cus, cus, n % merchants, cus)).encode()

    return make


def inference_requests(width: int, rows: int = 256, seed: int = 5) -> MakeBody:
    """V2 inference requests of one feature row each (the peer does model inference only)."""
    rng = np.random.default_rng(seed)
    data = [
        json.dumps([round(float(v), 4) for v in rng.lognormal(size=width)]) for _ in range(rows)
    ]
    # MLServer loads a bare booster JSON as an XGBRegressor: its default "predict" output is
    # already the probability of a binary:logistic model (predict_proba is refused).
    head = '{"id":"b%09d","inputs":[{"name":"x","shape":[1,%d],"datatype":"FP32","data":%s}]}'

    def make(n: int) -> bytes:
        return (head % (n, width, data[n % rows])).encode()

    return make
