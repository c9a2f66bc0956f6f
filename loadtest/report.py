"""The bench's ratios, its targets (issue 20) and its tables, from the phases one run measured.

Every ratio compares two targets of the same run: the machine is shared, so absolute
figures move by tens of percent between runs while ratios move far less. The CPU time
per decision comes first, because it is the figure a neighbour's job disturbs least.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

Phases = dict[str, dict[str, Any]]
FRICTIONS = ("friction-embedded", "friction-redis-kafka", "friction-redis-kafka-2w")

TARGETS = {
    "embedded/ceiling rps": (0.6, ">="),
    "redis-kafka/ceiling rps": (0.45, ">="),
    "embedded/peer rps": (5.0, ">="),
    "redis-kafka/peer rps": (4.0, ">="),
    "embedded/floor p99@own-half": (3.0, "<="),
    "redis-kafka/floor p99@own-half": (3.0, "<="),
}
"""Issue 20's targets; every other ratio in the JSON is information."""


def _get(out: Phases, name: str, phase: str, key: str) -> float | None:
    value = out.get(name, {}).get(phase, {}).get(key)
    return float(value) if value else None


def _div(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def ratios(out: Phases) -> dict[str, float | None]:
    """Each target against the ceiling, the peer and the floor, within this run."""
    ceiling_rps = _get(out, "ceiling", "closed", "rps")
    peer_rps = _get(out, "peer", "closed", "rps")
    floor_cpu = _get(out, "floor", "closed", "cpu_us")
    ceiling_cpu = _get(out, "ceiling", "closed", "cpu_us")
    result: dict[str, float | None] = {}
    for name in ("ceiling", *FRICTIONS, "peer"):
        if name not in out or "closed" not in out[name]:
            continue
        short = name.removeprefix("friction-")
        rps, cpu = _get(out, name, "closed", "rps"), _get(out, name, "closed", "cpu_us")
        if name in FRICTIONS:
            result[f"{short}/ceiling rps"] = _div(rps, ceiling_rps)
            result[f"{short}/peer rps"] = _div(rps, peer_rps)
        if "open_own" in out[name]:
            result[f"{short}/floor p99@own-half"] = _div(
                _get(out, name, "open_own", "p99_ms"), _get(out, name, "floor_open_own", "p99_ms")
            )
        result[f"{short}/floor cpu"] = _div(cpu, floor_cpu)
        if name != "ceiling":
            result[f"{short}/ceiling cpu"] = _div(cpu, ceiling_cpu)
        if name != "peer":  # issue 7's ratios, kept as information
            result[f"{short}/floor rps"] = _div(rps, _get(out, "floor", "closed", "rps"))
            result[f"{short}/floor p99@half"] = _div(
                _get(out, name, "open", "p99_ms"), _get(out, "floor", "open", "p99_ms")
            )
    if "friction-redis-kafka-2w" in out:
        result["2w/1w rps"] = _div(
            _get(out, "friction-redis-kafka-2w", "closed", "rps"),
            _get(out, "friction-redis-kafka", "closed", "rps"),
        )
    return result


def verdicts(found: dict[str, float | None]) -> dict[str, bool | None]:
    """Whether each target of issue 20 was met in this run (None: not measured)."""
    met: dict[str, bool | None] = {}
    for key, (bound, op) in TARGETS.items():
        value = found.get(key)
        met[key] = None if value is None else (value >= bound if op == ">=" else value <= bound)
    return met


def _cell(value: object) -> str:
    return "" if value is None else f"{value:,}" if isinstance(value, int | float) else str(value)


def _summary(out: Phases, found: dict[str, float | None]) -> Table:
    """One row a target: CPU per decision first, then throughput, then latency at half rate."""
    table = Table(title="per decision (one run; ratios only within it)")
    heads = ("target", "cpu µs", "× floor", "× ceiling", "closed rps", "p99 ms",
             "open @ own ½", "p99 ms", "floor p99 ms", "× floor p99")  # fmt: skip
    for head in heads:
        table.add_column(head, justify="left" if head == "target" else "right")
    for name, phases in out.items():
        if "closed" not in phases:
            continue
        short = name.removeprefix("friction-")
        closed, own = phases["closed"], phases.get("open_own", {})
        floor = phases.get("floor_open_own", {})
        table.add_row(
            name, _cell(closed.get("cpu_us")), _cell(found.get(f"{short}/floor cpu")),
            _cell(found.get(f"{short}/ceiling cpu")), _cell(closed["rps"]), _cell(closed["p99_ms"]),
            _cell(own.get("rate")), _cell(own.get("p99_ms")), _cell(floor.get("p99_ms")),
            _cell(found.get(f"{short}/floor p99@own-half")),
        )  # fmt: skip
    return table


def _phases(out: Phases) -> Table:
    """Every phase of every target, as measured."""
    table = Table(title="phases")
    for column in ("target", "phase", "rps", "p50 ms", "p99 ms", "p99.9 ms", "errors", "shed"):
        table.add_column(column, justify="left" if column in ("target", "phase") else "right")
    labels = {"closed": "closed", "open_own": "open ½ own", "floor_open_own": "floor, same rate",
              "open": "open ½ floor"}  # fmt: skip
    for name, phases in out.items():
        if "unavailable" in phases:
            table.add_row(name, "unavailable", phases["unavailable"][:60], *[""] * 5)
            continue
        for phase, label in labels.items():
            if phase in phases:
                s = phases[phase]
                rate = f" {s['rate']:.0f}/s" if "rate" in s else ""
                row = [s["rps"], s["p50_ms"], s["p99_ms"], s["p999_ms"], s["errors"], s.get("shed")]
                table.add_row(name, label + rate, *[_cell(v) for v in row])
        if phases.get("wrk_rps"):
            table.add_row(name, "closed (wrk)", _cell(phases["wrk_rps"]), *[""] * 5)
    return table


def render(out: Phases, found: dict[str, float | None], met: dict[str, bool | None]) -> None:
    """The human tables and the verdicts (stdout), before the JSON line."""
    console = Console(width=160)
    console.print(_summary(out, found))
    console.print(_phases(out))
    for key, value in found.items():
        bound = TARGETS.get(key)
        mark = {True: "[green]met[/]", False: "[red]MISSED[/]", None: ""}[met.get(key)]
        goal = f"(target {bound[1]} {bound[0]})" if bound else ""
        console.print(f"  {key:32} {value!s:>8} {goal} {mark}")
