"""``friction loop``: simulated days of score → ask → label → retrain, two label regimes."""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from friction.cli.common import positive
from friction.progress import progress_bar
from friction.simulation.config import FRAUD_SCENARIOS
from friction.training.loop import DayResult, LoopOptions, run_loop
from friction.training.loop_nightly import Gate

DESCRIPTION = """\
Simulate a week of history and N days. A new fraud pattern (--emerging) starts on the
first day, unknown to the initial model. Each day every payment is scored by the arm's
champion and decided by the smart-friction policy (FRICTION_* settings); simulated
customers answer challenges; labels flow; at midnight a candidate model is trained on
the labels so far (weighted by 1/propensity) and promoted if its AP beats the
champion's on the labels that arrived since (neither model has seen them). The
'dialogue' arm learns from answers within minutes; the 'delayed' arm only from labels
that mature after 7 days. Prints per day and arm: the served model's AP against the
truth, fraud caught (count and value), whether a new model was promoted that night,
and the labels the arm can train on."""


def register(subparsers: Any) -> None:
    """Add the ``loop`` subcommand."""
    parser = subparsers.add_parser(
        "loop",
        help="run the learning loop over simulated days (dialogue vs 7-day-delayed labels)",
        description=DESCRIPTION,
    )
    defaults = LoopOptions()
    parser.add_argument("--days", type=positive, default=defaults.days, help="days to run")
    parser.add_argument("--warmup-days", type=positive, default=defaults.warmup_days,
                        help="history the initial model is trained on")  # fmt: skip
    parser.add_argument("--customers", type=positive, default=defaults.customers, help="customers")
    parser.add_argument("--fraud-rate", type=float, default=defaults.fraud_rate,
                        help="multiplier on the simulator's fraud incidence")  # fmt: skip
    scenarios = [*FRAUD_SCENARIOS, "none"]
    parser.add_argument("--emerging", choices=scenarios, default=defaults.emerging_scenario,
                        metavar="SCENARIO", help="fraud starting on day 1, one of "
                        f"{', '.join(scenarios)} (none: all from the start)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=defaults.seed, help="simulation seed")
    parser.add_argument("--rounds", type=positive, default=defaults.gate.rounds,
                        help="boosting rounds per night")  # fmt: skip
    parser.add_argument("--plot", type=Path, help="write the learning curves to this PNG")
    parser.add_argument("--json", action="store_true", help="print a JSON summary as last line")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run both arms, print the per-day table, and optionally plot and summarise as JSON."""
    from friction.cli.common import load_settings

    options = LoopOptions(
        days=args.days, warmup_days=args.warmup_days, customers=args.customers,
        fraud_rate=args.fraud_rate, seed=args.seed, gate=Gate(rounds=args.rounds, seed=args.seed),
        emerging_scenario=None if args.emerging == "none" else args.emerging,
    )  # fmt: skip
    with progress_bar("loop days", args.days * len(options.arms), not args.no_progress) as step:
        results = run_loop(options, load_settings(), lambda _r: step(1))
    Console().print(day_table(results))
    if args.plot is not None:
        _plot(results, args.plot)
    if args.json:
        print(
            orjson.dumps(
                {"summary": summary(results), "days": [_jsonable(r) for r in results]}
            ).decode()
        )
    return 0


def day_table(results: list[DayResult]) -> Table:
    """Per day and arm: AP (▲ = a new model from tomorrow), fraud caught, labels to learn from."""
    arms = list(dict.fromkeys(r.arm for r in results))
    grid = Table(title="the loop: served model's AP, fraud caught (count, value), labels (fraud)")
    grid.add_column("day", justify="right")
    for arm in arms:
        for what in ("AP", "caught", "labels"):
            grid.add_column(f"{arm}\n{what}", justify="right", no_wrap=True)
    for day in sorted({r.day for r in results}):
        cells = [str(day)]
        for arm in arms:
            r = next(x for x in results if x.arm == arm and x.day == day)
            value = _share(r.fraud_value_stopped, r.fraud_value)
            cells.append(f"{r.ap:.3f}{'▲' if r.night.promoted else ' '}")
            cells.append(f"{r.fraud_stopped}/{r.frauds} {value:.0%}")
            cells.append(f"{r.labelled} ({r.fraud_labels})")
        grid.add_row(*cells)
    totals = summary(results)
    grid.caption = "  ".join(
        f"{arm}: caught {t['fraud_caught']}/{t['frauds']} ({t['fraud_value_caught']:.0%} €), "
        f"{t['promotions']} promotions, AP {t['ap_last_days']:.3f} over the last 3 days."
        for arm, t in totals.items()
    )
    return grid


def summary(results: list[DayResult]) -> dict[str, dict[str, Any]]:
    """Per arm: fraud caught over the run, promotions, and the AP of the last three days."""
    out: dict[str, dict[str, Any]] = {}
    for arm in dict.fromkeys(r.arm for r in results):
        days = [r for r in results if r.arm == arm]
        last = [r.ap for r in days[-3:] if not math.isnan(r.ap)]
        out[arm] = {
            "frauds": sum(r.frauds for r in days),
            "fraud_caught": sum(r.fraud_stopped for r in days),
            "fraud_value_caught": round(
                _share(sum(r.fraud_value_stopped for r in days), sum(r.fraud_value for r in days)),
                4,
            ),
            "promotions": sum(r.night.promoted for r in days),
            "ap_last_days": round(sum(last) / len(last), 4) if last else None,
            "labels": days[-1].labelled,
            "fraud_labels": days[-1].fraud_labels,
        }
    return out


def _share(part: float, whole: float) -> float:
    return part / whole if whole else math.nan


def _plot(results: list[DayResult], path: Path) -> None:
    """The learning curves as a PNG (matplotlib, through the shared plots module)."""
    import pandas as pd

    from friction.analytics.plots import learning_curves

    frame = pd.DataFrame(
        [{"arm": r.arm, "day": r.day, "ap": r.ap, "fraud_value": r.fraud_value,
          "fraud_value_stopped": r.fraud_value_stopped, "promoted": r.night.promoted}
         for r in results]
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    learning_curves(frame).savefig(path, dpi=96)


def _jsonable(result: DayResult) -> dict[str, Any]:
    """A day as JSON: NaN (no fraud that day, no candidate judged) becomes null."""
    out: dict[str, Any] = _no_nan(dataclasses.asdict(result))
    return out


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    return round(value, 4) if isinstance(value, float) else value
