"""friction against its floor and a serving peer: the same load, one machine, one run.

    .venv/bin/python loadtest/bench.py            # ~2-3 min
    .venv/bin/python loadtest/bench.py --quick    # ~30-40 s, noisier

Targets, each a process on 127.0.0.1 started and stopped here:

- floor: ``loadtest/floor.py``, bare aiohttp parsing the payment and answering a
  decision of the same size (the cost of HTTP + JSON on this machine);
- ceiling: ``loadtest/ceiling.py``, the floor plus the work every decision must do
  (pydantic validation, feature state, model + reasons), all in memory: an upper
  bound for friction on this runtime;
- friction-embedded: ``friction serve`` on defaults (SQLite store, file event log);
- friction-redis-kafka: ``friction serve`` on a real Redis and a Kafka-protocol broker;
- peer: MLServer + XGBoost runtime serving the same model (inference only), if
  ``scripts/install-bench-peer.sh`` installed it (else marked unavailable).

Every target gets a closed loop (``--concurrency`` connections back to back: the
throughput ceiling) and an open loop at a fixed arrival rate of half the floor's
ceiling (latency under a load all of them should carry). Payment ids are unique:
friction is idempotent, and a reused id would measure its cache. The generator is
``loadtest/loadgen.py`` (see its docstring for why not aiohttp's client or wrk);
if ``wrk`` is installed, the floor is also measured with it once, to show how much
of the floor's ceiling the Python generator itself costs. Ratios are only
meaningful within one run: the machine is shared. The last line is one JSON object.
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
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import services
from loadgen import Target, Tick, closed_loop, open_loop
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from services import Unavailable, free_port

Phases = dict[str, dict[str, Any]]
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
    parser.add_argument("--quick", action="store_true", help="short phases (~30-40 s in all)")
    parser.add_argument("--seconds", type=float, help="measured seconds per phase (10; quick 3)")
    parser.add_argument("--concurrency", type=int, default=32, help="closed-loop connections")
    parser.add_argument("--connections", type=int, default=64, help="open-loop connection pool")
    parser.add_argument("--rate-share", type=float, default=0.5, help="open-loop rate / floor max")
    parser.add_argument("--models", type=Path, help="model registry (default: models/ or bench)")
    parser.add_argument("--only", nargs="+", metavar="TARGET", help="subset of targets to run")
    parser.add_argument(
        "--scaling", action="store_true", help="also run Redis+Kafka with --workers 2 (+~20 s)"
    )
    args = parser.parse_args(argv)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    warmup = 1.0 if args.quick else 2.0
    plan = Plan(warmup, seconds, args.concurrency, args.connections, args.rate_share, args.scaling)
    return plan, args


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

    def closed(self, name: str, target: Target) -> dict[str, float]:
        """Closed loop at the plan's concurrency."""
        self.phase += 1
        tick, done = self._tick(f"{name}: {self.plan.concurrency} connections")
        plan = self.plan
        result = asyncio.run(
            closed_loop(
                target, plan.concurrency, plan.seconds, plan.warmup, self.phase * 10**8, tick
            )
        )
        done()
        return result.summary()

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
    run = uuid.uuid4().hex[:6]
    pay = services.payments(run)
    wanted = set(args.only or [*ALL, "peer"])
    if plan.scaling:
        wanted.add("friction-redis-kafka-2w")
    out: Phases = {}
    port = free_port()
    with services.floor(workdir, port):
        target = Target(port, "/v1/score", pay)
        out["floor"] = {"closed": runner.closed("floor", target)}
        rate = plan.rate_share * out["floor"]["closed"]["rps"]
        out["floor"]["open"] = runner.open("floor", target, rate)
        out["floor"]["wrk_rps"] = wrk_floor(port, plan, workdir)
    for name, starter in _starters(workdir, models, plan):
        if name not in wanted:
            continue
        try:
            with starter() as target:
                out[name] = {"closed": runner.closed(name, target)}
                if name != "peer":
                    out[name]["open"] = runner.open(name, target, rate)
        except Unavailable as error:
            out[name] = {"unavailable": str(error)}
            console.print(f"[yellow]{name} unavailable:[/] {error}")
    return out


Starter = Callable[[], contextlib.AbstractContextManager[Target]]


def _starters(workdir: Path, models: Path, plan: Plan) -> list[tuple[str, Starter]]:
    pay = services.payments(uuid.uuid4().hex[:6])

    @contextlib.contextmanager
    def embedded() -> Iterator[Target]:
        port = free_port()
        with services.friction(workdir, models, port, {}):
            yield Target(port, "/v1/score", pay)

    def shared(workers: int) -> Starter:
        @contextlib.contextmanager
        def start() -> Iterator[Target]:
            port = free_port()
            with (
                services.redis_and_kafka(workdir) as backends,
                services.friction(workdir, models, port, backends.env, workers=workers),
            ):
                yield Target(port, "/v1/score", pay)

        return start

    @contextlib.contextmanager
    def peer() -> Iterator[Target]:
        port = free_port()
        with services.peer(workdir, models, port):
            width = len(
                json.loads((services.champion_file(models).parent / "card.json").read_text())[
                    "feature_names"
                ]
            )
            yield Target(port, "/v2/models/friction/infer", services.inference_requests(width))

    @contextlib.contextmanager
    def ceiling() -> Iterator[Target]:
        port = free_port()
        with services.ceiling(workdir, models, port):
            yield Target(port, "/v1/score", pay)

    starters: list[tuple[str, Starter]] = [
        ("ceiling", ceiling),
        ("friction-embedded", embedded),
        ("friction-redis-kafka", shared(1)),
    ]
    if plan.scaling:
        starters.append(("friction-redis-kafka-2w", shared(2)))
    return [*starters, ("peer", peer)]


def ratios(out: Phases) -> dict[str, float | None]:
    """friction / floor and friction / peer, within this run."""

    def get(name: str, phase: str, key: str) -> float | None:
        value = out.get(name, {}).get(phase, {}).get(key)
        return float(value) if value else None

    def div(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    floor_rps, floor_p99 = get("floor", "closed", "rps"), get("floor", "open", "p99_ms")
    peer_rps = get("peer", "closed", "rps")
    result: dict[str, float | None] = {}
    for name in ("ceiling", *ALL[2:], "friction-redis-kafka-2w"):
        if name not in out:
            continue
        short = name.removeprefix("friction-")
        rps = get(name, "closed", "rps")
        result[f"{short}/floor rps"] = div(rps, floor_rps)
        if name != "ceiling":
            result[f"{short}/peer rps"] = div(rps, peer_rps)
        if "open" in out[name]:
            result[f"{short}/floor p99@half"] = div(get(name, "open", "p99_ms"), floor_p99)
    if "friction-redis-kafka-2w" in out:
        result["2w/1w rps"] = div(
            get("friction-redis-kafka-2w", "closed", "rps"),
            get("friction-redis-kafka", "closed", "rps"),
        )
    return result


TARGETS = {
    "embedded/floor rps": (0.6, ">="),
    "redis-kafka/floor rps": (0.4, ">="),
    "embedded/floor p99@half": (2.0, "<="),
    "redis-kafka/floor p99@half": (2.0, "<="),
    "embedded/peer rps": (2.0, ">="),
    "redis-kafka/peer rps": (2.0, ">="),
}


def verdicts(found: dict[str, float | None]) -> dict[str, bool | None]:
    """Whether each target of issue 7 was met in this run (None: not measured)."""
    met: dict[str, bool | None] = {}
    for key, (bound, op) in TARGETS.items():
        value = found.get(key)
        met[key] = None if value is None else (value >= bound if op == ">=" else value <= bound)
    return met


def render(out: Phases, found: dict[str, float | None], met: dict[str, bool | None]) -> None:
    """The human table (stdout) before the JSON line."""
    table = Table(title="friction bench (127.0.0.1, one run; ratios only within this run)")
    for column in ("target", "phase", "rps", "p50 ms", "p99 ms", "p99.9 ms", "errors", "bytes"):
        table.add_column(column, justify="left" if column in ("target", "phase") else "right")
    for name, phases in out.items():
        if "unavailable" in phases:
            table.add_row(name, "unavailable", phases["unavailable"][:60], *[""] * 5)
            continue
        for phase in ("closed", "open"):
            if phase in phases:
                s = phases[phase]
                label = f"open {s['rate']:.0f}/s" if phase == "open" else "closed"
                row = [s["rps"], s["p50_ms"], s["p99_ms"], s["p999_ms"], s["errors"], s["bytes"]]
                table.add_row(name, label, *[str(v) for v in row])
        if phases.get("wrk_rps"):
            table.add_row(name, "closed (wrk)", str(phases["wrk_rps"]), *[""] * 5)
    Console().print(table)
    for key, value in found.items():
        bound = TARGETS.get(key)
        mark = {True: "[green]met[/]", False: "[red]MISSED[/]", None: ""}[met.get(key)]
        goal = f"(target {bound[1]} {bound[0]})" if bound else ""
        Console().print(f"  {key:32} {value!s:>8} {goal} {mark}")


def main(argv: list[str] | None = None) -> int:
    """Run the bench; print the table, then the JSON line."""
    plan, args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="friction-bench-"))
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            out = run_all(plan, args, workdir, progress)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    found = ratios(out)
    met = verdicts(found)
    render(out, found, met)
    machine = {"cpus": os.cpu_count(), "load_avg": [round(x, 2) for x in os.getloadavg()]}
    plan_json = {k: getattr(plan, k) for k in plan.__dataclass_fields__}
    doc = {"machine": machine, "plan": plan_json, "results": out, "ratios": found, "met": met}
    print(json.dumps(doc), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
