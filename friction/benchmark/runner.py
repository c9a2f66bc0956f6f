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
from friction.benchmark.protocol import (
    Fold,
    Protocol,
    assessment_index,
    check_coverage,
    folds_for,
    train_index,
)
from friction.offline.feature_cache import cached_features
from friction.offline.handbook_stream import F64, Stream, data_files, data_hash, load_stream
from friction.offline.metrics import average_precision, card_precision_at_k, roc_auc

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
        return mean_of(self._scores(model))

    def std(self, model: str) -> dict[str, float | None]:
        return std_of(self._scores(model))

    def _scores(self, model: str) -> list[Scores]:
        return [getattr(f, model) for f in self.folds]

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


def mean_of(scores: list[Scores]) -> dict[str, float | None]:
    """Mean of each metric over folds."""
    return _finite({m: statistics.fmean(float(getattr(s, m)) for s in scores) for m in METRICS})


def std_of(scores: list[Scores]) -> dict[str, float | None]:
    """Sample standard deviation of each metric over folds (0 for a single fold)."""
    if len(scores) < 2:
        return _finite(dict.fromkeys(METRICS, 0.0))
    return _finite({m: statistics.stdev(float(getattr(s, m)) for s in scores) for m in METRICS})


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
    assess = assessment_index(stream, fold)
    return FoldResult(
        fold=fold,
        train_rows=len(train_index(stream, fold)),
        assessment_rows=len(assess),
        assessment_frauds=int(stream.fraud[assess].sum()),
        baseline=fold_scores(stream, fold, base, models.BASELINE),
        friction=fold_scores(stream, fold, ours, models.FRICTION),
    )


def fold_scores(stream: Stream, fold: Fold, features: F64, spec: models.BoosterSpec) -> Scores:
    """One model trained on the fold's training week, scored on its assessment week."""
    train, assess = train_index(stream, fold), assessment_index(stream, fold)
    y, days = stream.fraud[train], stream.day[train]
    return score(
        stream, assess, models.fit_predict(spec, features[train], y, days, features[assess])
    )


@dataclass(frozen=True, slots=True)
class Inputs:
    """What every run of a protocol shares: the stream, its folds and both feature sets."""

    stream: Stream
    folds: list[Fold]
    base: F64
    ours: F64
    data_key: str
    cache_dir: Path | None


def prepare(
    data_dir: Path, protocol: Protocol, cache_dir: Path | None, bar: BarFactory = no_bar
) -> Inputs:
    """Load the data, check it covers the folds, build both feature sets (friction's cached)."""
    files = data_files(data_dir)
    stream = load_stream(files)
    folds = folds_for(protocol)
    check_coverage(stream, folds)
    base = baseline_features(stream)
    key = data_hash(files)
    with bar("friction features (replay)", len(stream)) as advance:
        ours = cached_features(stream, key, cache_dir, progress=advance)
    return Inputs(stream, folds, base, ours, key, cache_dir)


def run_benchmark(
    data_dir: Path, protocol: Protocol, cache_dir: Path | None, bar: BarFactory = no_bar
) -> BenchmarkReport:
    """Load the data, build both feature sets, run every fold."""
    started = time.perf_counter()
    return run_folds(prepare(data_dir, protocol, cache_dir, bar), protocol, started, bar)


def run_folds(
    inputs: Inputs, protocol: Protocol, started: float, bar: BarFactory = no_bar
) -> BenchmarkReport:
    """Both models on every fold; the runtime counts from ``started`` (before loading)."""
    results: list[FoldResult] = []
    with bar("folds", len(inputs.folds)) as advance:
        for fold in inputs.folds:
            results.append(run_fold(inputs.stream, fold, inputs.base, inputs.ours))
            advance(1)
    return BenchmarkReport(protocol, results, time.perf_counter() - started)
