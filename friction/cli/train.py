"""``friction train``: build a model from a stream and gate its promotion."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from friction.offline.booster import FRICTION
from friction.offline.train import TrainOptions, train
from friction.training.production import add_sink_options, run_from_sink

COUNTS = frozenset({"test_rows", "test_frauds"})
"""Model-card metrics that count rows: printed as integers, never ``100.0000``."""


def register(sub: Any) -> None:
    """Add the ``train`` subcommand."""
    parser = sub.add_parser(
        "train",
        help="train an XGBoost model on a payment stream and register it",
        description=(
            "Replay a stream (from `friction simulate`) through the online feature code, "
            "train XGBoost on a time-based split, write models/<version>/ with a model card, "
            "and promote it to champion if it beats the current one on the same hold-out."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="JSON-lines stream to learn from")
    source.add_argument("--from-sink", type=Path, metavar="DIR", help="dataset of `friction sink`")
    add_sink_options(parser)
    parser.add_argument("--models", type=Path, default=Path("models"), help="registry folder")
    parser.add_argument(
        "--rounds", type=int, default=FRICTION.rounds,
        help="most boosting rounds; early stopping picks fewer",
    )  # fmt: skip
    parser.add_argument(
        "--max-depth", type=int, default=FRICTION.params["max_depth"], help="tree depth"
    )
    parser.add_argument(
        "--learning-rate", type=float, default=FRICTION.params["eta"],
        help="boosting learning rate (larger for few rounds)",
    )  # fmt: skip
    parser.add_argument(
        "--label-delay-days",
        type=float,
        default=7.0,
        help="days until a label reaches the feature state",
    )
    parser.add_argument(
        "--promote",
        choices=["if-better", "always", "never"],
        default="if-better",
        help="promotion rule: if-better promotes only a candidate that beats the champion",
    )
    parser.add_argument("--metric", choices=["ap", "auc"], default="ap", help="promotion metric")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="boost on the Dask cluster whose scheduler is at ADDRESS (e.g. tcp://10.0.0.5:8786) "
        "with xgboost.dask: same features, parameters, model card and promotion gate; "
        "needs the dask extra (pip install 'friction[dask]')",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=_run)  # fmt: skip


def _run(args: argparse.Namespace) -> int:
    if args.from_sink is not None:
        return run_from_sink(args)
    if not args.data.exists():
        print(f"error: {args.data} not found; make one with `friction simulate --out {args.data}`",
              file=sys.stderr)  # fmt: skip
        return 2
    result = train(
        TrainOptions(
            data=args.data, models_dir=args.models, rounds=args.rounds, max_depth=args.max_depth,
            learning_rate=args.learning_rate, label_delay_days=args.label_delay_days,
            promote=args.promote, metric=args.metric,
            seed=args.seed, progress=not args.no_progress, dask_scheduler=args.dask_scheduler,
        )
    )  # fmt: skip
    table = Table(title=f"model {result.card.version}")
    table.add_column("metric")
    table.add_column("candidate", justify="right")
    table.add_column(f"champion {result.champion or '(none)'}", justify="right")
    for name in ("auc", "ap", "test_rows", "test_frauds"):
        mine = result.card.metrics.get(name)
        theirs = result.champion_metrics.get(name)
        table.add_row(name, _fmt(name, mine), _fmt(name, theirs))
    console = Console()
    console.print(table)
    verdict = "promoted to champion" if result.promoted else "kept as candidate (not promoted)"
    console.print(f"{result.card.version}: {verdict}; files in {args.models / result.card.version}")
    return 0


def _fmt(name: str, value: float | None) -> str:
    """A count as an integer (``12,345``), a metric to four decimals, a missing one as -."""
    if value is None:
        return "-"
    return f"{value:,.0f}" if name in COUNTS else f"{value:.4f}"
