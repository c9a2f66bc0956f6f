"""friction against its ceiling, its floor and a serving peer: the same load, one machine, one run.

    .venv/bin/python loadtest/bench.py            # ~4-5 min
    .venv/bin/python loadtest/bench.py --quick    # ~1.5 min, noisier

Targets, each a process on 127.0.0.1 started and stopped here:

- floor: ``loadtest/floor.py``, bare aiohttp parsing the payment and answering a
  decision of the same size (the cost of HTTP + JSON on this machine); it stays up
  for the whole run, because every target's latency is compared to it;
- ceiling: ``loadtest/ceiling.py``, the floor plus the work every decision must do
  (pydantic validation, feature state, model + reasons), all in memory: an upper
  bound for friction on this runtime;
- friction-embedded: ``friction serve`` on defaults (SQLite store, file event log);
- friction-redis-kafka: ``friction serve`` on a real Redis and a Kafka-protocol broker;
- peer: MLServer + XGBoost runtime serving the same model (inference only), if
  ``scripts/install-bench-peer.sh`` installed it (else marked unavailable).

Every target gets a closed loop (``--concurrency`` connections back to back: the
throughput ceiling), during which the CPU time of its process tree is read from
``/proc`` (``cpu_us``: user + system per request served; for Redis + Kafka the two
servers' CPU is given apart, ``backends_cpu_us``). Then an open loop at half its
own closed-loop rate and the floor at the same rate (latency at a sane load, issue
20), and last an open loop at half the floor's rate (issue 7's overload phase, kept
as information). Payment ids are unique: friction is idempotent, and a reused id
would measure its cache. The generator is ``loadtest/loadgen.py`` (see its docstring
for why not aiohttp's client or wrk); if ``wrk`` is installed, the floor is also
measured with it once. Ratios (``loadtest/report.py``) are only meaningful within
one run: the machine is shared. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import services
from cpu import cpu_seconds, tree
from loadgen import Target, Tick, closed_loop, open_loop
from report import Phases, ratios, render, verdicts
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from services import Unavailable, free_port

ALL = ["floor", "ceiling", "friction-embedded", "friction-redis-kafka"]
console = Console(stderr=True)


@dataclass(frozen=True)
class Plan:
    """Durations and shapes of the load phases."""

    warmup: float
    seconds: float
    concurrency: int
    connections: int
    rate_share: float
    scaling: bool


def parse_args(argv: list[str] | None = None) -> tuple[Plan, argparse.Namespace]:
    """The plan and the other options from the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog="The last line of output is JSON."
    )
    parser.add_argument("--quick", action="store_true", help="short phases (~1.5 min in all)")
    parser.add_argument("--seconds", type=float, help="measured seconds per phase (10; quick 3)")
    parser.add_argument("--concurrency", type=int, default=32, help="closed-loop connections")
    parser.add_argument("--connections", type=int, default=64, help="open-loop connection pool")
    parser.add_argument("--rate-share", type=float, default=0.5, help="open-loop rate / closed max")
    parser.add_argument("--models", type=Path, help="model registry (default: models/ or bench)")
    parser.add_argument("--only", nargs="+", metavar="TARGET", help="subset of targets to run")
    parser.add_argument(
        "--no-overload", action="store_true", help="skip the open loop at half the floor's rate"
    )
    parser.add_argument(
        "--scaling", action="store_true", help="also run Redis+Kafka with --workers 2 (+~45 s)"
    )
    args = parser.parse_args(argv)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    warmup = 1.0 if args.quick else 2.0
    plan = Plan(warmup, seconds, args.concurrency, args.connections, args.rate_share, args.scaling)
    return plan, args


class CpuWindow:
    """CPU seconds of a target's process tree (and of the rest of the bench's children: the
    backends) between the start and the end of a closed loop's measured window."""

    def __init__(self, pid: int, floor_pid: int) -> None:
        self._pid, self._floor = pid, floor_pid
        self._target: set[int] = set()
        self._others: set[int] = set()
        self._at: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.spent: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def _read(self) -> tuple[float, float, float]:
        return cpu_seconds(self._target), cpu_seconds(self._others), time.process_time()

    def start(self) -> None:
        self._target = tree(self._pid)
        others = tree(os.getpid()) - {os.getpid()} - self._target - tree(self._floor)
        self._others = others if self._pid != self._floor else set()
        self._at = self._read()

    def stop(self) -> None:
        end = self._read()
        self.spent = (end[0] - self._at[0], end[1] - self._at[1], end[2] - self._at[2])

    def per_request(self, served: int) -> dict[str, float]:
        """µs per request served: the target's, the backends' (if any), the generator's."""
        target, others, generator = (round(s * 1e6 / max(served, 1), 1) for s in self.spent)
        out = {"cpu_us": target, "loadgen_cpu_us": generator}
        if self._others:
            out["backends_cpu_us"] = others
        return out


class Runner:
    """Runs the phases of each target with one progress display."""

    def __init__(self, plan: Plan, progress: Progress) -> None:
        self.plan = plan
        self.progress = progress
        self.phase = 0

    def _tick(self, label: str) -> tuple[Tick, Callable[[], None]]:
        task = self.progress.add_task(label, total=1.0)

        def tick(share: float) -> None:
            self.progress.update(task, completed=share)

        return tick, lambda: self.progress.update(task, completed=1.0)

    def closed(self, name: str, target: Target, window: CpuWindow) -> dict[str, float]:
        """Closed loop at the plan's concurrency, with the target's CPU per request."""
        self.phase += 1
        tick, done = self._tick(f"{name}: {self.plan.concurrency} connections")
        plan = self.plan
        first = self.phase * 10**8
        result = asyncio.run(
            closed_loop(target, plan.concurrency, plan.seconds, plan.warmup, first, tick, window)
        )
        done()
        return {**result.summary(), **window.per_request(result.ok)}

    def open(self, name: str, target: Target, rate: float) -> dict[str, float]:
        """Open loop at ``rate`` requests per second."""
        self.phase += 1
        tick, done = self._tick(f"{name}: {rate:.0f}/s open loop")
        plan = self.plan
        result = asyncio.run(
            open_loop(target, rate, plan.seconds, plan.connections, self.phase * 10**8, tick)
        )
        done()
        return {"rate": round(rate, 1), **result.summary()}


def wrk_floor(port: int, plan: Plan, workdir: Path) -> float | None:
    """The floor's ceiling measured by wrk (C, 1 thread), or None without wrk."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    script = workdir / "payments.lua"
    script.write_text(  # the same payments as the Python generator sends
        f"n = 0\ntemplate = {json.dumps(services.PAYMENT)}\nrequest = function()\n  n = n + 1\n"
        "  local c = n % 5000\n"
        '  local body = string.format(template, "w", n, "2026-11-23T10:15:00Z", 4200, c, c, c,'
        " n % 200, c)\n"
        '  return wrk.format("POST", "/v1/score", {["Content-Type"]="application/json"}, body)\n'
        "end\n"
    )
    argv = [wrk, "-t1", f"-c{plan.concurrency}", f"-d{int(plan.seconds)}s", "-s", str(script)]
    out = subprocess.run(
        [*argv, f"http://127.0.0.1:{port}/"], capture_output=True, text=True, timeout=60
    )
    found = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    return float(found.group(1)) if found else None


def run_all(plan: Plan, args: argparse.Namespace, workdir: Path, progress: Progress) -> Phases:
    """Every target's phases; a target that cannot run is recorded with the reason."""
    runner = Runner(plan, progress)
    models = services.resolve_models(args.models)
    pay = services.payments(uuid.uuid4().hex[:6])
    wanted = set(args.only or [*ALL, "peer"])
    if plan.scaling:
        wanted.add("friction-redis-kafka-2w")
    out: Phases = {}
    port = free_port()
    with services.floor(workdir, port) as floor_pid:  # up all along: each target's reference
        floor = Target(port, "/v1/score", pay)
        out["floor"] = {"closed": runner.closed("floor", floor, CpuWindow(floor_pid, floor_pid))}
        half_floor = plan.rate_share * out["floor"]["closed"]["rps"]
        if not args.no_overload:
            out["floor"]["open"] = runner.open("floor", floor, half_floor)
        out["floor"]["wrk_rps"] = wrk_floor(port, plan, workdir)
        for name, starter in _starters(workdir, models, plan):
            if name not in wanted:
                continue
            try:
                with starter() as (target, pid):
                    closed = runner.closed(name, target, CpuWindow(pid, floor_pid))
                    out[name] = {"closed": closed}
                    if name == "peer":
                        continue
                    own = plan.rate_share * closed["rps"]
                    out[name]["open_own"] = runner.open(name, target, own)
                    out[name]["floor_open_own"] = runner.open(f"floor @ {name}", floor, own)
                    if not args.no_overload:  # last: its backlog must not disturb the others
                        out[name]["open"] = runner.open(name, target, half_floor)
            except Unavailable as error:
                out[name] = {"unavailable": str(error)}
                console.print(f"[yellow]{name} unavailable:[/] {error}")
    return out


Starter = Callable[[], contextlib.AbstractContextManager[tuple[Target, int]]]


def _starters(workdir: Path, models: Path, plan: Plan) -> list[tuple[str, Starter]]:
    pay = services.payments(uuid.uuid4().hex[:6])

    @contextlib.contextmanager
    def embedded() -> Iterator[tuple[Target, int]]:
        port = free_port()
        with services.friction(workdir, models, port, {}) as pid:
            yield Target(port, "/v1/score", pay), pid

    def shared(workers: int) -> Starter:
        @contextlib.contextmanager
        def start() -> Iterator[tuple[Target, int]]:
            port = free_port()
            with (
                services.redis_and_kafka(workdir) as backends,
                services.friction(workdir, models, port, backends.env, workers=workers) as pid,
            ):
                yield Target(port, "/v1/score", pay), pid

        return start

    @contextlib.contextmanager
    def peer() -> Iterator[tuple[Target, int]]:
        port = free_port()
        with services.peer(workdir, models, port) as pid:
            width = len(
                json.loads((services.champion_file(models).parent / "card.json").read_text())[
                    "feature_names"
                ]
            )
            yield Target(port, "/v2/models/friction/infer", services.inference_requests(width)), pid

    @contextlib.contextmanager
    def ceiling() -> Iterator[tuple[Target, int]]:
        port = free_port()
        with services.ceiling(workdir, models, port) as pid:
            yield Target(port, "/v1/score", pay), pid

    starters: list[tuple[str, Starter]] = [
        ("ceiling", ceiling),
        ("friction-embedded", embedded),
        ("friction-redis-kafka", shared(1)),
    ]
    if plan.scaling:
        starters.append(("friction-redis-kafka-2w", shared(2)))
    return [*starters, ("peer", peer)]


def main(argv: list[str] | None = None) -> int:
    """Run the bench; print the tables, then the JSON line."""
    plan, args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="friction-bench-"))
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    load_before = [round(x, 2) for x in os.getloadavg()]
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            out = run_all(plan, args, workdir, progress)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    found = ratios(out)
    met = verdicts(found)
    render(out, found, met)
    machine = {
        "cpus": os.cpu_count(),
        "load_avg_before": load_before,
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }
    plan_json = {k: getattr(plan, k) for k in plan.__dataclass_fields__}
    doc = {"machine": machine, "plan": plan_json, "results": out, "ratios": found, "met": met}
    print(json.dumps(doc), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
