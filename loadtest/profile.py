"""Where a target's CPU goes under the bench's load: py-spy on the real process.

    .venv/bin/pip install -e '.[bench]'   # once: py-spy, a sampling profiler that reads
                                          # the process from outside (the service runs unchanged)
    .venv/bin/python loadtest/profile.py --target friction-embedded --out docs/profiles/after

The target (``friction serve`` embedded or on Redis + Kafka, or the ceiling) is started
as the bench starts it and loaded by the bench's closed loop (32 connections, unique
payments). After a warm-up, py-spy samples it twice in a row under the same load: once
into collapsed stacks (``<target>.txt``, summed here into inclusive and self shares,
``<target>.md``) and once into a flame graph (``<target>.svg``). Shares are of the
samples in which the process was on the CPU (py-spy drops idle samples), aggregated by
function (``--function``): "inclusive" counts a sample once for every distinct function
on its stack, so nested shares add up to more than 100 %.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import services
from loadgen import Target, closed_loop
from services import free_port

PY_SPY = services.ROOT / ".venv" / "bin" / "py-spy"
TARGETS = ("friction-embedded", "friction-redis-kafka", "ceiling")


@contextlib.contextmanager
def started(name: str, workdir: Path, models: Path) -> Iterator[tuple[int, int]]:
    """The target running: (port, pid)."""
    port = free_port()
    if name == "ceiling":
        with services.ceiling(workdir, models, port) as pid:
            yield port, pid
    elif name == "friction-embedded":
        with services.friction(workdir, models, port, {}) as pid:
            yield port, pid
    else:
        with (
            services.redis_and_kafka(workdir) as backends,
            services.friction(workdir, models, port, backends.env) as pid,
        ):
            yield port, pid


def record(pid: int, seconds: float, rate: int, fmt: str, out: Path) -> None:
    """One py-spy recording of ``pid`` (``fmt``: raw or flamegraph) into ``out``."""
    argv = [str(PY_SPY), "record", "--pid", str(pid), "--rate", str(rate), "--function"]
    argv += ["--duration", str(int(seconds)), "--format", fmt, "--output", str(out)]
    argv.append("--nonblocking")  # samples without pausing the service: its rate stays honest
    subprocess.run(argv, check=True, capture_output=True, timeout=seconds + 60)


def shares(collapsed: Path) -> tuple[int, Counter[str], Counter[str]]:
    """Samples, inclusive and self counts per function from py-spy's collapsed stacks."""
    total, inclusive, own = 0, Counter[str](), Counter[str]()
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f.strip() for f in stack.split(";")[1:]]  # the first is the thread
        if not frames:
            continue
        n = int(count)
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    return total, inclusive, own


def summary(name: str, rps: float, collapsed: Path, top: int = 40) -> str:
    """A Markdown summary: the rate under the profiler, then the top inclusive and self shares."""
    total, inclusive, own = shares(collapsed)
    lines = [f"# {name}: py-spy, {total} samples, {rps:.0f} rps under the profiler", ""]
    for title, counter in (("inclusive", inclusive), ("self", own)):
        lines += [f"## {title}", "", "| share | function |", "|---:|---|"]
        for frame, n in counter.most_common(top):
            lines.append(f"| {100 * n / max(total, 1):.1f} % | `{frame}` |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    """Profile one target under load; write its stacks, summary and flame graph."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=TARGETS, default="friction-embedded")
    parser.add_argument("--seconds", type=float, default=10.0, help="per recording (two)")
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--out", type=Path, required=True, help="directory for the outputs")
    args = parser.parse_args()
    if not PY_SPY.is_file():
        raise SystemExit("py-spy missing: .venv/bin/pip install -e '.[bench]'")
    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="friction-profile-"))
    models = services.resolve_models(None)
    total = 2 + 2 * args.seconds + 4  # warm-up, two recordings, slack
    try:
        with started(args.target, workdir, models) as (port, pid):
            target = Target(port, "/v1/score", services.payments(uuid.uuid4().hex[:6]))
            result: list[float] = []

            def load() -> None:
                found = asyncio.run(
                    closed_loop(target, args.concurrency, total - 2, 2, 0, lambda _: None)
                )
                result.append(found.ok / found.seconds)

            thread = threading.Thread(target=load)
            thread.start()
            threading.Event().wait(2.5)  # the warm-up
            stacks = args.out / f"{args.target}.txt"
            record(pid, args.seconds, args.rate, "raw", stacks)
            record(pid, args.seconds, args.rate, "flamegraph", args.out / f"{args.target}.svg")
            thread.join()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = summary(args.target, result[0], stacks)
    (args.out / f"{args.target}.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
