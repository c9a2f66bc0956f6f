"""What each fault costs: Redis frozen, a slowloris, twice the capacity. Measured, not asserted.

    .venv/bin/python loadtest/faults.py                    # ~2 min
    .venv/bin/python loadtest/faults.py --only slowloris   # one scenario
    .venv/bin/python loadtest/faults.py --repeat 3         # the spread over runs

The tests prove behaviour (nothing lost, no 5xx, the bounds hold); the latency and the
degraded share each fault costs are measured here, where a shared machine's stalls
cannot fail a build. Each scenario starts its own ``friction serve``:

- ``redis``: Redis + Kafka, default settings. ``healthy``: ``FRICTION_MAX_INFLIGHT``
  (256) connections back to back on a healthy Redis (the pool, issue 15.1); then 200
  connections ``before``, ``frozen`` (Redis SIGSTOPped for the whole phase, SIGCONT at
  its end) and ``after``: per phase the rate, latency and share of degraded answers,
  and how long after SIGCONT every spilled decision was in Redis.
- ``slowloris``: embedded store. A tenant at a fixed rate, alone, then while 300 slow
  sockets hold customer routes (``loadgen.slowloris``): the tenant's p99 ratio.
- ``overload``: embedded store, ``FRICTION_MAX_INFLIGHT`` 64. Capacity measured by a
  closed loop, then an open loop at a quarter of it and at twice it: accepted p99
  against the 429s' p99 and the wait the bound implies (``MAX_INFLIGHT`` / capacity).

Prints a table per run; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import services
from loadgen import SlowlorisProcess, Target, closed_loop, open_loop
from rich.console import Console
from rich.table import Table
from services import free_port

console = Console(stderr=True, width=180)
Row = dict[str, Any]
SLOW_PATHS = ("/v1/dialogues/x/answer", "/webhooks/twilio/sms")
DEGRADED = "friction_degraded_decisions_total"
SPILLED = "friction_spilled_decisions_total"
PENDING = "friction_spill_pending"
SHED = "friction_shed_total"


def metric(port: int, name: str) -> float:
    """One unlabelled sample of the service's ``/metrics``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def _quiet(share: float) -> None:
    """No progress bar: the table is the output."""


def closed(target: Target, connections: int, seconds: float, first: int) -> Row:
    return asyncio.run(closed_loop(target, connections, seconds, 0.0, first, _quiet)).summary()


def opened(target: Target, rate: float, seconds: float, first: int, connections: int) -> Row:
    result = asyncio.run(open_loop(target, rate, seconds, connections, first, _quiet))
    return {"rate": round(rate, 1), **result.summary()}


class Counted:
    """The change of some counters over a block: ``with Counted(port, [...]) as c: ...``."""

    def __init__(self, port: int, names: list[str]) -> None:
        self.port, self.names = port, names
        self.delta: dict[str, float] = {}

    def __enter__(self) -> Counted:
        self._before = {name: metric(self.port, name) for name in self.names}
        return self

    def __exit__(self, *exc: object) -> None:
        self.delta = {n: metric(self.port, n) - self._before[n] for n in self.names}


def _drain_timer(port: int, since: float, out: Row) -> threading.Thread:
    """Record in ``out`` how long after ``since`` the spill journal was empty again."""

    def watch() -> None:
        deadline = since + 120
        while time.monotonic() < deadline:
            if metric(port, PENDING) == 0:
                out["spill_drained_s"] = round(time.monotonic() - since, 2)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def redis_freeze(workdir: Path, models: Path, seconds: float) -> list[Row]:
    rows: list[Row] = []
    with services.redis_and_kafka(workdir) as backends:
        port = free_port()
        with services.friction(workdir, models, port, backends.env):
            target = Target(port, "/v1/score", services.payments(uuid.uuid4().hex[:6]))
            closed(target, 8, 2.0, 0)  # warm-up: model kernels, connections, scripts
            plan = [("healthy", 256), ("before", 200), ("frozen", 200), ("after", 200)]
            timer: threading.Thread | None = None
            drained: Row = {}
            for n, (phase, connections) in enumerate(plan, start=1):
                with Counted(port, [DEGRADED, SPILLED]) as counted:
                    if phase == "frozen":
                        backends.redis.freeze()
                    try:
                        row = closed(target, connections, seconds, n * 10**8)
                    finally:
                        if phase == "frozen":
                            backends.redis.thaw()
                            timer = _drain_timer(port, time.monotonic(), drained)
                degraded = counted.delta[DEGRADED]
                rows.append({"scenario": "redis", "phase": phase, "connections": connections,
                             **row, "degraded": int(degraded),
                             "degraded_share": round(degraded / max(row["ok"], 1), 4),
                             "spilled": int(counted.delta[SPILLED])})  # fmt: skip
            if timer is not None:
                timer.join()
            rows[-2]["spill_drained_s"] = drained.get("spill_drained_s")
    return rows


def slow_clients(workdir: Path, models: Path, seconds: float, rate: float) -> list[Row]:
    port = free_port()
    with services.friction(workdir, models, port, {}):
        target = Target(port, "/v1/score", services.payments(uuid.uuid4().hex[:6]))
        closed(target, 8, 2.0, 0)
        quiet = opened(target, rate, seconds, 10**8, 64)

        attacker = SlowlorisProcess(port, SLOW_PATHS, 300)
        attacker.start()
        time.sleep(3.0)  # every socket connected; the first ones answered
        with Counted(port, [SHED]) as counted:
            loaded = opened(target, rate, seconds, 2 * 10**8, 64)
        answers = attacker.stop()
    ratio = round(loaded["p99_ms"] / quiet["p99_ms"], 2)
    return [
        {"scenario": "slowloris", "phase": "alone", **quiet},
        {"scenario": "slowloris", "phase": "300 slow sockets", **loaded, "p99_ratio": ratio,
         "slow_answered": dict(answers), "tenant_shed": int(counted.delta[SHED])},
    ]  # fmt: skip


def overload(workdir: Path, models: Path, seconds: float) -> list[Row]:
    port = free_port()
    bound = 64
    extra = {"FRICTION_MAX_INFLIGHT": str(bound)}
    with services.friction(workdir, models, port, extra):
        target = Target(port, "/v1/score", services.payments(uuid.uuid4().hex[:6]))
        closed(target, 8, 2.0, 0)
        capacity = closed(target, 8, seconds, 10**8)["rps"]
        rows = [{"scenario": "overload", "phase": "capacity (8 conns)", "rps": capacity}]
        for n, share in enumerate((0.25, 2.0), start=2):
            row = opened(target, capacity * share, seconds, n * 10**8, 1024)
            sent = row["ok"] + row.get("shed", 0) + row["errors"]
            rows.append({"scenario": "overload", "phase": f"{share:g}x capacity", **row,
                         "shed_share": round(row.get("shed", 0) / max(sent, 1), 3),
                         "bound_wait_ms": round(bound / capacity * 1000, 1)})  # fmt: skip
    return rows


SCENARIOS: dict[str, Callable[[Path, Path, argparse.Namespace], list[Row]]] = {
    "redis": lambda w, m, a: redis_freeze(w, m, a.seconds),
    "slowloris": lambda w, m, a: slow_clients(w, m, a.seconds, a.tenant_rate),
    "overload": lambda w, m, a: overload(w, m, a.seconds),
}


def render(rows: list[Row]) -> None:
    table = Table(title="What each fault costs (one run; latency in ms)")
    columns = [
        "scenario", "phase", "rps", "p50_ms", "p99_ms", "errors", "shed", "shed_p99_ms",
        "degraded_share", "spilled", "spill_drained_s", "p99_ratio", "bound_wait_ms",
    ]  # fmt: skip
    for column in columns:
        table.add_column(column.replace("_", " "))
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row[c]) for c in columns))
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(SCENARIOS), help="scenarios to run")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds a phase")
    parser.add_argument("--tenant-rate", type=float, default=200.0, help="slowloris: tenant /s")
    parser.add_argument("--repeat", type=int, default=1, help="runs of every scenario")
    parser.add_argument("--models", type=Path, help="model registry (default: models/ or bench)")
    args = parser.parse_args(argv)
    models = services.resolve_models(args.models)
    runs: list[list[Row]] = []
    for _ in range(args.repeat):
        rows: list[Row] = []
        for name in args.only or list(SCENARIOS):
            with tempfile.TemporaryDirectory(prefix=f"faults-{name}-") as tmp:
                try:
                    rows += SCENARIOS[name](Path(tmp), models, args)
                except services.Unavailable as error:
                    rows.append({"scenario": name, "phase": f"unavailable: {error}"})
        render(rows)
        runs.append(rows)
    print(json.dumps({"runs": runs}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
