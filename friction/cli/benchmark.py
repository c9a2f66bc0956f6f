"""``friction benchmark handbook``: the Fraud Detection Handbook protocol, from the shell.

Registered by ``friction.cli`` through ``register(subparsers)``. Tables and
progress go to the terminal; with ``--json`` the last line of stdout is one
JSON object, so scripts can ``tail -n 1``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from friction.benchmark.dialogue_run import DialogueReport, run_dialogue
from friction.benchmark.runner import (
    METRICS,
    BenchmarkReport,
    mean_of,
    prepare,
    run_folds,
    std_of,
)
from friction.errors import FrictionError

DEFAULT_CACHE = Path("var/cache/benchmark")
MODELS = ("baseline", "friction")
BOOK_VALIDATION = {"auc": 0.887, "ap": 0.708, "cp100": 0.289}
HANDBOOK_HELP = """\
Run the handbook's prequential protocol (7-day train, 7-day label delay,
7-day assessment; known-compromised cards removed per assessment day) on the
handbook CSV files in --data, for (a) the book's 15 baseline features with
its XGBoost settings, a reproduction check, and (b) friction's online features
replayed with labels arriving 7 days late. Reports AUC ROC, average precision
and Card Precision@100 per fold and as mean ± std over the 4 folds.
With --labels dialogue, a separate run adds friction's model when challenged
customers' answers reach the features within minutes (with and without
discovery challenges); --json gains a "dialogue" key.
"""


def register(subparsers: Any) -> None:
    """Add ``benchmark handbook`` to the ``friction`` command."""
    benchmark = subparsers.add_parser(
        "benchmark", help="external model benchmarks", description="External model benchmarks."
    )
    kinds = benchmark.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    handbook = kinds.add_parser(
        "handbook",
        help="Fraud Detection Handbook protocol: baseline vs friction",
        description=HANDBOOK_HELP,
    )
    handbook.add_argument(
        "--data", type=Path, required=True, help="directory of transactions-*.csv[.gz] files"
    )
    handbook.add_argument(
        "--protocol",
        choices=("validation", "test"),
        default="validation",
        help="validation folds (training weeks from 2018-06-20) or test folds (from 2018-07-25)",
    )
    handbook.add_argument("--json", action="store_true", help="end with one JSON line on stdout")
    handbook.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        help="where replayed feature matrices are kept",
    )
    handbook.add_argument("--no-cache", action="store_true", help="always replay the stream")
    handbook.add_argument(
        "--labels",
        choices=("delayed", "dialogue"),
        default="delayed",
        help="dialogue: add a separately labelled run where challenged payments' labels "
        "arrive within minutes (with and without discovery challenges)",
    )
    handbook.set_defaults(func=run_handbook)


def run_handbook(args: argparse.Namespace) -> int:
    """Run the benchmark and print the tables (and the JSON line)."""
    from friction.cli.common import load_settings
    from friction.progress import progress_bar

    console = Console()
    cache = None if args.no_cache else args.cache_dir
    started = time.perf_counter()
    dialogue: DialogueReport | None = None
    try:
        inputs = prepare(args.data, args.protocol, cache, bar=progress_bar)
        report = run_folds(inputs, args.protocol, started, bar=progress_bar)
        if args.labels == "dialogue":
            dialogue = run_dialogue(inputs, load_settings(), bar=progress_bar)
    except (FrictionError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    console.print(render(report))
    console.print(f"runtime {report.runtime_s:.0f} s")
    payload = report.as_dict()
    if dialogue is not None:
        console.print(render_dialogue(report, dialogue))
        console.print(f"dialogue run {dialogue.runtime_s:.0f} s")
        payload["dialogue"] = dialogue.as_dict()
    if args.json:
        sys.stdout.flush()
        print(json.dumps(payload), flush=True)
    return 0


def render(report: BenchmarkReport) -> Table:
    """A row per fold and model, then mean ± std per model, then the book's numbers.

    Mean and std share a cell on two lines, so the table fits 80 columns."""
    table = Table(title=f"Fraud Detection Handbook, {report.protocol} folds")
    for name in ("training week", "model", "AUC ROC", "AP", "CP@100", "rows / frauds"):
        left = name in ("training week", "model")
        table.add_column(name, justify="left" if left else "right")
    for fold in report.folds:
        sizes = f"{fold.assessment_rows:,}/{fold.assessment_frauds}"
        for model in MODELS:
            scores = getattr(fold, model).as_dict()
            table.add_row(fold.fold.label, model, *(_number(scores[k]) for k in METRICS), sizes)
    for model in MODELS:
        cells = _mean_std(report.mean(model), report.std(model))
        table.add_row("mean ± std", model, *cells, "", style="bold")
    if report.protocol == "validation":
        book = (_number(BOOK_VALIDATION[k]) for k in METRICS)
        table.add_row("published", "book XGBoost", *book, "", style="dim")
    return table


def render_dialogue(report: BenchmarkReport, dialogue: DialogueReport) -> Table:
    """friction's model under each label schedule, beside the main run's 7-day labels."""
    table = Table(title=f"Dialogue labels (a separate run), {report.protocol} folds")
    table.add_column("labels", no_wrap=True)
    for name in ("AUC ROC", "AP", "CP@100", "asked\n/1000", "quick labels\n/frauds"):
        table.add_column(name, justify="right", no_wrap=True)
    delayed = _mean_std(report.mean("friction"), report.std("friction"))
    table.add_row("all 7 days late\n(main run)", *delayed, "0", "0/0")
    for arm in dialogue.arms:
        spent = arm.spent.as_dict()
        quick = f"{arm.spent.quick_labels:,}/{arm.spent.quick_frauds:,}"
        cells = _mean_std(mean_of(arm.folds), std_of(arm.folds))
        table.add_row(arm.name, *cells, f"{spent['challenges_per_1000']:.1f}", quick)
    return table


def _mean_std(mean: dict[str, float | None], std: dict[str, float | None]) -> list[str]:
    """Per metric, the mean over the folds above its standard deviation (one cell, 2 lines)."""
    return [f"{_number(mean[k])}\n± {_number(std[k])}" for k in METRICS]


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
