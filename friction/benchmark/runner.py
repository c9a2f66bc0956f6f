"""One fold after another, for both feature sets: the benchmark's composition.

Both runs see the same folds, the same assessment rows (after the removal of
known-compromised cards) and the same metrics; only features and training
differ, so the gap between them is the gain of friction's features.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from friction.benchmark import models
from friction.benchmark.baseline import baseline_features
from friction.benchmark.metrics import average_precision, card_precision_at_k, roc_auc
from friction.benchmark.protocol import (
    Fold,
    Protocol,
    assessment_index,
    check_coverage,
    folds_for,
    train_index,
)
from friction.benchmark.replay import cached_features
from friction.benchmark.stream import F64, Stream, data_files, data_hash, load_stream

Advance = Callable[[float], None]
BarFactory = Callable[[str, float | None], AbstractContextManager[Advance]]
METRICS = ("auc", "ap", "cp100")


@contextmanager
def no_bar(_description: str, _total: float | None) -> Iterator[Advance]:
    """A progress bar that draws nothing (library use and tests)."""
    yield lambda _n: None


@dataclass(frozen=True, slots=True)
class Scores:
    """The three handbook metrics of one model on one fold."""

    auc: float
    ap: float
    cp100: float

    def as_dict(self) -> dict[str, float | None]:
        """Metrics by name; NaN (a fold without frauds) becomes None, valid JSON."""
        return _finite({"auc": self.auc, "ap": self.ap, "cp100": self.cp100})


@dataclass(frozen=True, slots=True)
class FoldResult:
    """Both models' scores on one fold, with the sizes that give them weight."""

    fold: Fold
    train_rows: int
    assessment_rows: int
    assessment_frauds: int
    baseline: Scores
    friction: Scores

    def as_dict(self) -> dict[str, Any]:
        return {
            "train_start": self.fold.label,
            "train_rows": self.train_rows,
            "assessment_rows": self.assessment_rows,
            "assessment_frauds": self.assessment_frauds,
            "baseline": self.baseline.as_dict(),
            "friction": self.friction.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class BenchmarkReport:
    """Per-fold results; mean and (sample) standard deviation over folds, as the book reports."""

    protocol: str
    folds: list[FoldResult]
    runtime_s: float

    def mean(self, model: str) -> dict[str, float | None]:
        return _finite({m: statistics.fmean(self._values(model, m)) for m in METRICS})

    def std(self, model: str) -> dict[str, float | None]:
        many = len(self.folds) > 1
        stds = {m: statistics.stdev(self._values(model, m)) if many else 0.0 for m in METRICS}
        return _finite(stds)

    def _values(self, model: str, metric: str) -> list[float]:
        return [float(getattr(getattr(f, model), metric)) for f in self.folds]

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` object: means at the top, stds and folds beside them."""
        return {
            "baseline": self.mean("baseline"),
            "friction": self.mean("friction"),
            "std": {"baseline": self.std("baseline"), "friction": self.std("friction")},
            "folds": [f.as_dict() for f in self.folds],
            "protocol": self.protocol,
            "runtime_s": round(self.runtime_s, 1),
        }


def _finite(values: dict[str, float]) -> dict[str, float | None]:
    return {k: v if math.isfinite(v) else None for k, v in values.items()}


def score(stream: Stream, rows: Any, predictions: F64) -> Scores:
    """The handbook metrics of ``predictions`` for the assessment ``rows``."""
    labels = stream.fraud[rows]
    return Scores(
        auc=roc_auc(labels, predictions),
        ap=average_precision(labels, predictions),
        cp100=card_precision_at_k(stream.day[rows], stream.customer[rows], labels, predictions),
    )


def run_fold(stream: Stream, fold: Fold, base: F64, ours: F64) -> FoldResult:
    """Train both models on the fold's training week and score its assessment week."""
    train, assess = train_index(stream, fold), assessment_index(stream, fold)
    y, days = stream.fraud[train], stream.day[train]
    base_pred = models.fit_predict(models.BASELINE, base[train], y, days, base[assess])
    ours_pred = models.fit_predict(models.FRICTION, ours[train], y, days, ours[assess])
    return FoldResult(
        fold=fold,
        train_rows=len(train),
        assessment_rows=len(assess),
        assessment_frauds=int(stream.fraud[assess].sum()),
        baseline=score(stream, assess, base_pred),
        friction=score(stream, assess, ours_pred),
    )


def run_benchmark(
    data_dir: Path, protocol: Protocol, cache_dir: Path | None, bar: BarFactory = no_bar
) -> BenchmarkReport:
    """Load the data, build both feature sets (friction's cached), run every fold."""
    started = time.perf_counter()
    files = data_files(data_dir)
    stream = load_stream(files)
    folds = folds_for(protocol)
    check_coverage(stream, folds)
    base = baseline_features(stream)
    with bar("friction features (replay)", len(stream)) as advance:
        ours = cached_features(stream, data_hash(files), cache_dir, progress=advance)
    results: list[FoldResult] = []
    with bar("folds", len(folds)) as advance:
        for fold in folds:
            results.append(run_fold(stream, fold, base, ours))
            advance(1)
    return BenchmarkReport(protocol, results, time.perf_counter() - started)
