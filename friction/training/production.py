"""Training on production data: the label sink's dataset -> ``Dataset`` -> a registered model.

Unlike ``dataset.build_dataset`` (which replays a simulated stream through the
feature code), rows here carry the *exact* vector the served model saw, logged
with the decision, so training sees what scoring saw, including degraded
decisions and whatever feature state Redis held at the time.

Weights: each row counts ``1 / propensity`` of the action behind its label (the
label's recorded propensity, else the decision's), so payments that exploration
asked about stand for the many it did not ask about (DESIGN §3).

Maturity: a payment's truth is its latest label. ``fraud``/``genuine`` count as
they are; a payment with no label (or only ``no_answer``, which is silence, not
truth) counts as genuine once ``mature_days`` have passed since it happened,
because chargebacks and fraud reports arrive within that window; younger
unlabelled payments are left out rather than guessed.
"""

from __future__ import annotations

import argparse
import hashlib
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from friction.events.sink import SinkRow, partition_files
from friction.offline.dataset import Dataset
from friction.offline.train import TrainOptions, TrainResult, fit_and_register
from friction.scoring.features import FEATURE_NAMES

DEFAULT_MATURE_DAYS = 30.0


@dataclass(frozen=True, slots=True)
class Maturity:
    """When an unlabelled payment counts as genuine."""

    days: float = DEFAULT_MATURE_DAYS
    as_of: datetime | None = None
    """The clock to mature against (default: now); pin it for reproducible training."""


@dataclass
class SinkCounts:
    """What reading the sink kept and left out, for the training report."""

    rows: int = 0
    fraud: int = 0
    genuine_labelled: int = 0
    genuine_matured: int = 0
    immature: int = 0
    no_decision: int = 0


def read_rows(directory: Path) -> Iterator[SinkRow]:
    """Rows of every day partition (pending rows lack a decision, so they are skipped)."""
    for path in partition_files(directory):
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    yield SinkRow.model_validate_json(line)


def sink_dataset(directory: Path, maturity: Maturity) -> tuple[Dataset, SinkCounts]:
    """The training matrix of a sink folder, labels resolved by ``maturity``."""
    horizon = (maturity.as_of or datetime.now(UTC)) - timedelta(days=maturity.days)
    counts = SinkCounts()
    X: list[list[float]] = []
    y: list[int] = []
    ts: list[float] = []
    ids: list[str] = []
    origins: list[str] = []
    weights: list[float] = []
    for row in read_rows(directory):
        counts.rows += 1
        if row.features is None or row.occurred_at is None:
            counts.no_decision += 1
            continue
        target, origin = _target(row, horizon, counts)
        if target is None:
            continue
        X.append([_value(row.features.get(name)) for name in FEATURE_NAMES])
        y.append(target)
        ts.append(row.occurred_at.timestamp())
        ids.append(row.payment_id)
        origins.append(origin)
        weights.append(1.0 / _propensity(row))
    matrix = np.array(X, dtype=np.float64).reshape(len(X), len(FEATURE_NAMES))
    dataset = Dataset(
        matrix, np.array(y, dtype=np.int8), np.array(ts), ids, origins, np.array(weights)
    )
    return dataset, counts


def _target(row: SinkRow, horizon: datetime, counts: SinkCounts) -> tuple[int | None, str]:
    """1/0 and where it came from (label source or ``matured``); None when not yet known."""
    if row.label == "fraud":
        counts.fraud += 1
        return 1, str(row.label_source)
    if row.label == "genuine":
        counts.genuine_labelled += 1
        return 0, str(row.label_source)
    if row.occurred_at is not None and row.occurred_at <= horizon:
        counts.genuine_matured += 1
        return 0, "matured"
    counts.immature += 1
    return None, ""


def _propensity(row: SinkRow) -> float:
    """The probability of the action that produced the row's label (1 when unrecorded)."""
    chosen = row.label_propensity if row.label is not None else None
    chosen = chosen if chosen is not None else row.propensity
    return chosen if chosen is not None and chosen > 0 else 1.0


def _value(value: float | None) -> float:
    return math.nan if value is None else value


def sink_digest(directory: Path) -> str:
    """sha256 over the day partitions (names and bytes): the model card's data hash."""
    digest = hashlib.sha256()
    for path in partition_files(directory):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def train_from_sink(
    directory: Path, options: TrainOptions, maturity: Maturity
) -> tuple[TrainResult, SinkCounts]:
    """Train on the sink's dataset, evaluate against the champion, save and maybe promote."""
    dataset, counts = sink_dataset(directory, maturity)
    if len(dataset.y) == 0 or dataset.y.sum() == 0:
        raise ValueError(f"{directory} has no fraud label to learn from yet ({counts})")
    params = {"source": "sink", "mature_days": maturity.days}
    return fit_and_register(dataset, options, sink_digest(directory), params), counts


def add_sink_options(parser: argparse.ArgumentParser) -> None:
    """``friction train`` options that only matter with ``--from-sink``."""
    parser.add_argument(
        "--mature-days",
        type=float,
        default=DEFAULT_MATURE_DAYS,
        help=f"with --from-sink: unlabelled payments older than this count as genuine "
        f"(default {DEFAULT_MATURE_DAYS:g})",
    )
    parser.add_argument(
        "--as-of",
        type=datetime.fromisoformat,
        metavar="ISO-TIME",
        help="with --from-sink: the clock maturity is measured against (default: now)",
    )


def run_from_sink(args: argparse.Namespace) -> int:
    """``friction train --from-sink DIR``: train, report counts and metrics."""
    if not partition_files(args.from_sink):
        print(f"error: no date=*/part-*.jsonl under {args.from_sink}; run `friction sink` first")
        return 2
    as_of = (
        args.as_of if args.as_of is None or args.as_of.tzinfo else args.as_of.replace(tzinfo=UTC)
    )
    options = TrainOptions(
        data=args.from_sink, models_dir=args.models, rounds=args.rounds,
        max_depth=args.max_depth, learning_rate=args.learning_rate, promote=args.promote,
        metric=args.metric, seed=args.seed,
        dask_scheduler=args.dask_scheduler,
    )  # fmt: skip
    result, counts = train_from_sink(args.from_sink, options, Maturity(args.mature_days, as_of))
    table = Table(title=f"model {result.card.version} from {args.from_sink}")
    table.add_column("what")
    table.add_column("value", justify="right")
    for name, value in asdict(counts).items():
        table.add_row(f"rows: {name}", str(value))
    for name, value in result.card.metrics.items():
        theirs = result.champion_metrics.get(name)
        table.add_row(
            name, f"{value:.4f}" + ("" if theirs is None else f" (champion {theirs:.4f})")
        )
    console = Console()
    console.print(table)
    verdict = "promoted to champion" if result.promoted else "kept as candidate (not promoted)"
    console.print(f"{result.card.version}: {verdict}")
    return 0
