"""``friction backtest``: allow-all, silent blocking and smart friction on the same stream."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from friction.backtest.cases import Cases, simulated_cases
from friction.backtest.policies import allow_all, block_threshold, silent_block, smart_friction
from friction.backtest.report import PolicyReport, summarise, table, verdict
from friction.progress import progress_bar
from friction.settings import Settings

DESCRIPTION = """\
Replay a payment stream through a model and compare policies side by side: allow-all,
silent blocking at the score threshold that stops the same fraud value as smart friction,
and smart friction (the service's policy, with FRICTION_* settings: thresholds, costs,
budget, trusted payees, exploration). Customers answer challenges as the stream's truth
says. Sources: a `friction simulate` stream scored by the registry's champion (--data),
or the handbook CSVs (--handbook DIR) with a model trained on their first days and the
simulator's answer model. --json prints one JSON object as the last line."""


def register(subparsers: Any) -> None:
    """Add the ``backtest`` subcommand."""
    parser = subparsers.add_parser(
        "backtest",
        help="compare allow-all, silent blocking and smart friction on a stream",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="JSON-lines stream from `friction simulate`")
    source.add_argument("--handbook", type=Path, help="folder of the handbook CSV files")
    parser.add_argument(
        "--models",
        type=Path,
        help="registry to take the champion from (default FRICTION_MODELS_DIR)",
    )
    parser.add_argument(
        "--train-days", type=int, default=61,
        help="handbook only: days used to train the model; the rest is backtested (default 61)",
    )  # fmt: skip
    parser.add_argument(
        "--cache", type=Path, default=Path("var/cache/benchmark"),
        help="handbook feature cache folder (default var/cache/benchmark)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print a JSON summary as last line")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load, replay every policy, print the table (and JSON)."""
    from friction.cli import load_settings

    settings = load_settings()
    show = not args.no_progress
    with progress_bar("replaying stream", None, show) as advance:
        cases = _load(args, settings, advance)
    with progress_bar("smart friction", len(cases.cases), show) as advance:
        smart_out = smart_friction(cases, settings, advance)
    smart = summarise("smart friction", cases, smart_out, settings)
    threshold = block_threshold(cases, settings, smart.fraud_value_stopped)
    silent = summarise("silent block", cases, silent_block(cases, threshold), settings, threshold)
    reports = [summarise("allow all", cases, allow_all(cases), settings), silent, smart]
    _print(args, settings, reports)
    return 0


def _load(args: argparse.Namespace, settings: Settings, advance: Any) -> Cases:
    if args.handbook is not None:
        from friction.backtest.handbook import handbook

        return handbook(args.handbook, args.train_days, args.cache, advance)
    from friction.training.registry import load_model

    model = load_model(args.models or settings.models_dir)
    return simulated_cases(args.data, model, advance)


def _print(args: argparse.Namespace, settings: Settings, reports: list[PolicyReport]) -> None:
    console = Console()
    source = args.data or args.handbook
    console.print(table(f"backtest of {source}", reports))
    target = verdict(reports[2], reports[1], settings.friction_budget)
    console.print(
        f"smart friction declines {target['fewer_good_declined']:.1%} fewer good payments "
        "than silent blocking at equal fraud value stopped"
    )
    if args.json:
        payload = {"source": str(source), "policies": [r.model_dump() for r in reports],
                   "target": target}  # fmt: skip
        print(orjson.dumps(payload).decode())
