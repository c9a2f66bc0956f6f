"""``friction backtest --rule``: what an analyst's rule would have done, before it goes live."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from rich.console import Console

from friction.backtest.report import table
from friction.backtest.rule_impact import StreamTrial, hits_table, on_stream
from friction.domain.payment import Payment
from friction.errors import InvalidInput
from friction.progress import progress_bar
from friction.rules.expressions import Vocabulary
from friction.service.rule_trial import RuleTrial, candidate, on_log
from friction.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The rule backtest's options on ``friction backtest``."""
    parser.add_argument(
        "--rule",
        metavar="EXPR",
        help="backtest this CEL rule (docs/rules.md) on --data or --events",
    )
    parser.add_argument(
        "--action",
        choices=["allow", "challenge", "review", "decline"],
        default="decline",
        help="the rule's action (default decline)",
    )
    parser.add_argument(
        "--events",
        type=Path,
        metavar="DIR",
        help="--rule on the service's decision log (FRICTION_EVENT_LOG_DIR)",
    )
    parser.add_argument("--tenant", help="--events: only this tenant's decisions")
    parser.add_argument("--days", type=float, default=30.0,
                        help="--events: the last N days of decisions (default 30)")  # fmt: skip


def run_rule(args: argparse.Namespace, settings: Settings) -> int:
    """Compile the rule, replay it on the stream or the log, print the tables (and JSON)."""
    if (args.data is None) == (args.events is None):
        print("error: --rule needs one of --data STREAM or --events DIR", file=sys.stderr)
        return 2
    try:
        test = candidate(Vocabulary(Payment.model_json_schema()), args.rule, args.action)
    except InvalidInput as error:
        print(f"error: --rule: {error.message}", file=sys.stderr)
        return 2
    show = not args.no_progress
    impact: RuleTrial
    if args.events is not None:
        since = datetime.now(UTC) - timedelta(days=args.days)
        impact = on_log(args.events, test, settings, args.tenant, since)
    else:
        from friction.scoring.registry import load_card, load_model, load_policy

        models = args.models or settings.models_dir
        model = load_model(models, load_card(models).version)
        with progress_bar("replaying stream", None, show) as advance:
            impact = on_stream(args.data, test, model, load_policy(models), settings, advance)
    console = Console()
    console.print(hits_table(impact))
    if isinstance(impact, StreamTrial):
        console.print(table("the current policy, without and with the rule",
                            [impact.current, impact.with_rule]))  # fmt: skip
    if args.json:
        print(orjson.dumps(impact.model_dump(mode="json")).decode())
    return 0
