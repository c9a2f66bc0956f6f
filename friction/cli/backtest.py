"""``friction backtest``: allow-all, silent blocking and smart friction on the same stream."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from friction.backtest.compare import StreamResult, compare
from friction.backtest.report import breakdown_table, table
from friction.backtest.sweep import OverlapRefused, SweepOptions, run_sweep, spread, sweep_table
from friction.cli.backtest_rule import add_arguments, run_rule
from friction.offline.policy_fit import after_days
from friction.offline.policy_replay import ANALYST_ERROR, REVIEW_DELAY_S
from friction.progress import progress_bar
from friction.settings import Settings

DESCRIPTION = f"""\
Replay a payment stream through a model and compare policies side by side: allow-all,
silent blocking at the score threshold that stops the same fraud value as smart friction,
and smart friction (the service's policy, with FRICTION_* settings). The policy's
parameters (score calibration, answer rates per channel, question and review prices) are
fitted on the stream's first --fit-days only; the days after are replayed. Customers answer
challenges as the stream's truth says; analysts decide reviews within
{REVIEW_DELAY_S / 3600:.0f} h and get {ANALYST_ERROR:.0%} of them wrong. Sources: a `friction
simulate` stream scored by the registry's champion (--data; refused if it overlaps the
champion's training data), the handbook CSVs (--handbook DIR: a model trained on the first
--train-days minus the 7-day label delay, the policy fitted on that last week, the rest
replayed), or --sweep: simulated worlds of several seeds and sizes (plus --handbook when
given), with the spread across them. --rule EXPR --action A: what an analyst's rule would
have done, on a stream (--data: the current policy replayed without and with it) or on the
service's decision log (--events: the rule applied to what was served, truth from the
labels that arrived). --json prints one JSON object as the last line."""


def register(subparsers: Any) -> None:
    """Add the ``backtest`` subcommand."""
    parser = subparsers.add_parser(
        "backtest",
        help="compare allow-all, silent blocking and smart friction on a stream",
        description=DESCRIPTION,
    )
    parser.add_argument("--data", type=Path, help="JSON-lines stream from `friction simulate`")
    parser.add_argument("--handbook", type=Path, help="folder of the handbook CSV files")
    parser.add_argument(
        "--sweep", action="store_true",
        help="simulated worlds of --seeds × --sizes, plus --handbook if given",
    )  # fmt: skip
    parser.add_argument(
        "--seeds", type=_ints, default=[1, 2, 3, 4, 5],
        help="sweep: simulator seeds, comma-separated (default 1,2,3,4,5)",
    )  # fmt: skip
    parser.add_argument(
        "--sizes", type=_sizes, default=[(30, 2000), (45, 4000)],
        help="sweep: DAYSxCUSTOMERS worlds (default 30x2000,45x4000)",
    )  # fmt: skip
    parser.add_argument(
        "--models", type=Path,
        help="registry to take the champion from (default FRICTION_MODELS_DIR)",
    )  # fmt: skip
    parser.add_argument(
        "--fit-days", type=float, default=7.0,
        help="simulated streams: days the policy is fitted on",
    )  # fmt: skip
    parser.add_argument(
        "--train-days", type=int, default=61,
        help="handbook only: the replay starts on this day",
    )  # fmt: skip
    parser.add_argument(
        "--cache", type=Path, default=Path("var/cache/benchmark"),
        help="handbook feature cache folder",
    )  # fmt: skip
    parser.add_argument("--allow-overlap", action="store_true",
                        help="replay a stream that overlaps the champion's training data anyway "
                        "(its figures flatter the model; marked in the output)")  # fmt: skip
    add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON summary as last line")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load, replay every policy, print the tables (and JSON)."""
    from friction.cli.common import load_settings

    if args.rule is not None:
        return run_rule(args, load_settings())
    if args.events is not None:
        print("error: --events is for --rule; give --rule EXPR", file=sys.stderr)
        return 2
    if (args.data is None) == (args.handbook is None) and not args.sweep:
        print("error: give one of --data, --handbook or --sweep", file=sys.stderr)
        return 2
    if args.sweep and args.data is not None:
        print("error: --sweep simulates its own streams; --data does not apply", file=sys.stderr)
        return 2
    for given in (args.data, args.handbook):
        if given is not None and not given.exists():
            print(f"error: {given} not found", file=sys.stderr)
            return 2
    settings = load_settings()
    if args.sweep:
        return _sweep(args, settings)
    try:
        result, warning = _one(args, settings)
    except OverlapRefused as refused:
        Console(stderr=True).print(f"[bold red]refused:[/] {refused}")
        return 2
    _print_one(args, result, warning)
    return 0


def _one(args: argparse.Namespace, settings: Settings) -> tuple[StreamResult, str]:
    show = not args.no_progress
    if args.handbook is not None:
        from friction.backtest.handbook import handbook

        with progress_bar("replaying stream", None, show) as advance:
            cases, replay_from = handbook(args.handbook, args.train_days, args.cache, advance)
        return compare(str(args.handbook), cases, settings, replay_from, show), ""
    from friction.backtest.provenance import file_hash, overlap
    from friction.offline.cases import simulated_cases
    from friction.scoring.registry import load_card, load_model

    models = args.models or settings.models_dir
    card = load_card(models)
    with progress_bar("replaying stream", None, show) as advance:
        cases = simulated_cases(args.data, load_model(models, card.version), advance)
    found = overlap(card, cases, file_hash(args.data))
    warning = ""
    if found.refused or found.doubtful:
        warning = found.message()
        hint = "pass --allow-overlap to replay it anyway, or replay a stream the model never saw"
        if found.refused and not args.allow_overlap:
            raise OverlapRefused(f"{warning}; its figures would flatter the model ({hint})")
        Console(stderr=True).print(f"[bold red]WARNING:[/] {warning}: the figures flatter it")
    result = compare(str(args.data), cases, settings, after_days(cases, args.fit_days), show)
    return result, warning


def _print_one(args: argparse.Namespace, result: StreamResult, warning: str) -> None:
    console = Console()
    fit = result.fit
    console.print(table(f"backtest of {result.stream}", result.policies))
    console.print(breakdown_table("by channel and fraud scenario", result.breakdown))
    console.print(
        f"policy fitted on {fit.rows:,} payments ({fit.frauds:,} frauds) from {fit.window_start}"
        f" to {fit.window_end}; calibration {fit.intercept:+.2f} + {fit.slope:.2f}·logit, "
        f"question price {fit.question_price_minor / 100:.2f} EUR, "
        f"review price {fit.review_price_minor / 100:.2f} EUR"
    )
    console.print(
        f"smart friction declines {float(str(result.target['fewer_good_declined'])):.1%} fewer "
        "good payments than silent blocking at equal fraud value stopped"
    )
    if warning:
        console.print(f"[bold red]WARNING:[/] {warning}")
    if args.json:
        payload = {**result.model_dump(mode="json"), "source": result.stream,
                   "overlap_warning": warning or None}  # fmt: skip
        print(orjson.dumps(payload).decode())


def _sweep(args: argparse.Namespace, settings: Settings) -> int:
    options = SweepOptions(
        models_dir=args.models or settings.models_dir, seeds=args.seeds, sizes=args.sizes,
        fit_days=args.fit_days, handbook=args.handbook, train_days=args.train_days,
        cache=args.cache,
    )  # fmt: skip
    try:
        results = run_sweep(options, settings, not args.no_progress)
    except OverlapRefused as refused:
        Console(stderr=True).print(f"[bold red]refused:[/] {refused}")
        return 2
    console = Console()
    console.print(sweep_table(results))
    worst = min(results, key=lambda r: float(str(r.target["fewer_good_declined"])))
    console.print(breakdown_table(f"where the worst stream loses: {worst.stream}", worst.breakdown))
    if args.json:
        payload = {
            "spread": spread(results),
            "streams": [r.model_dump(mode="json") for r in results],
        }
        print(orjson.dumps(payload).decode())
    return 0


def _ints(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: seeds are integers, e.g. 1,2,3") from None


def _sizes(text: str) -> list[tuple[int, int]]:
    try:
        pairs = [part.lower().split("x") for part in text.split(",") if part.strip()]
        return [(int(days), int(customers)) for days, customers in pairs]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: sizes are DAYSxCUSTOMERS, e.g. 30x2000"
        ) from None
