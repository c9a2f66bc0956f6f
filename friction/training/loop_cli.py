"""``friction loop``: simulated days of score → ask → label → retrain, two label regimes."""

from __future__ import annotations

import argparse
import math
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from friction.progress import progress_bar
from friction.training.loop import DayResult, LoopOptions, run_loop

DESCRIPTION = """\
Simulate a warm-up history and N days. Each day every payment is scored by the arm's
champion and decided by the smart-friction policy (FRICTION_* settings); simulated
customers answer challenges; labels flow; at midnight a candidate model is trained on
the labels so far (weighted by 1/propensity) and promoted if better on the newest
labels. The 'dialogue' arm learns from answers within minutes; the 'delayed' arm only
from labels that mature after 7 days. Prints per-day AP (of the served model, against
the truth) and fraud value stopped for both."""


def register(subparsers: Any) -> None:
    """Add the ``loop`` subcommand."""
    parser = subparsers.add_parser(
        "loop",
        help="run the learning loop over simulated days (dialogue vs 7-day-delayed labels)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--days", type=int, default=14, help="days to run (default 14)")
    parser.add_argument("--warmup-days", type=int, default=7, help="history days (default 7)")
    parser.add_argument("--customers", type=int, default=2000, help="customers (default 2000)")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed (default 7)")
    parser.add_argument("--rounds", type=int, default=150, help="boosting rounds per night")
    parser.add_argument("--json", action="store_true", help="print a JSON summary as last line")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run both arms and print the per-day table."""
    from friction.cli import load_settings

    options = LoopOptions(days=args.days, warmup_days=args.warmup_days,
                          customers=args.customers, seed=args.seed, rounds=args.rounds)  # fmt: skip
    with progress_bar("loop days", args.days * len(options.arms), not args.no_progress) as step:
        results = run_loop(options, load_settings(), lambda _r: step(1))
    Console().print(day_table(results))
    if args.json:
        print(orjson.dumps({"days": [_jsonable(r) for r in results]}).decode())
    return 0


def day_table(results: list[DayResult]) -> Table:
    """Per day: each arm's AP, fraud value stopped and whether it promoted a model."""
    arms = sorted({r.arm for r in results})
    grid = Table(title="the loop: served model's AP and fraud value stopped, per day")
    grid.add_column("day", justify="right")
    for arm in arms:
        grid.add_column(f"{arm} AP", justify="right")
        grid.add_column(f"{arm} stopped", justify="right")
    for day in sorted({r.day for r in results}):
        cells = [str(day)]
        for arm in arms:
            r = next(x for x in results if x.arm == arm and x.day == day)
            mark = " ↑" if r.promoted else ""
            cells.append(f"{r.ap:.3f}{mark}")
            share = r.fraud_value_stopped / r.fraud_value if r.fraud_value else math.nan
            cells.append(f"{r.fraud_stopped}/{r.frauds} ({share:.0%})")
        grid.add_row(*cells)
    return grid


def _jsonable(result: DayResult) -> dict[str, Any]:
    out = {k: getattr(result, k) for k in result.__slots__}
    out["ap"] = None if math.isnan(result.ap) else round(result.ap, 4)
    return out
