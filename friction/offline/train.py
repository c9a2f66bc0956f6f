"""``friction train``: features from the shared code, a time-based split, XGBoost, the registry.

The candidate is evaluated on the latest part of the stream (never seen in
training), against the current champion on exactly the same rows, and is
promoted only when it is better on the configured metric (or when told).
"""

from __future__ import annotations

import contextlib
import hashlib
import platform
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import xgboost as xgb
from numpy.typing import NDArray

from friction.errors import MissingExtra, NoModel
from friction.offline.booster import FRICTION, fit
from friction.offline.boosting import Boost, local
from friction.offline.cases import Cases, collect
from friction.offline.dataset import Dataset, build_dataset, read_lines
from friction.offline.metrics import average_precision, roc_auc
from friction.offline.policy_fit import fit_policy
from friction.offline.policy_replay import Case
from friction.progress import progress_bar
from friction.scoring.features import FEATURE_NAMES
from friction.scoring.registry import (
    ModelCard,
    champion_version,
    load_model,
    payments_sketch,
    promote,
    save_candidate,
    schema_hash,
)
from friction.settings import Settings

Promote = Literal["if-better", "always", "never"]
T = TypeVar("T")


@contextlib.contextmanager
def boosting(dask_scheduler: str | None, progress: bool) -> Iterator[Boost]:
    """A local ``Boost``, or one on the Dask scheduler at ``dask_scheduler`` (connected once)."""
    if dask_scheduler is None:
        yield local(progress)
        return
    try:
        from friction.offline.distributed import dask_boosting
    except ImportError as error:
        raise MissingExtra(
            f"--dask-scheduler needs dask[distributed] ({error.name} is missing): "
            "pip install 'friction[dask]'"
        ) from error
    with dask_boosting(dask_scheduler) as boost:
        yield boost


@dataclass
class TrainOptions:
    """What to train on and how; defaults are the ones the bundled model used."""

    data: Path
    models_dir: Path
    rounds: int = FRICTION.rounds
    max_depth: int = FRICTION.params["max_depth"]
    learning_rate: float = FRICTION.params["eta"]
    test_share: float = 0.25
    label_delay_days: float = 7.0
    promote: Promote = "if-better"
    metric: Literal["ap", "auc"] = "ap"
    seed: int = 0
    progress: bool = False
    dask_scheduler: str | None = None
    """Address of a Dask scheduler to boost on (``xgboost.dask``); None: in this process."""
    policy_settings: Settings = field(default_factory=Settings)
    """Costs and dialogue settings the policy is fitted under (``FRICTION_*``)."""


@dataclass
class TrainResult:
    """The candidate's card and whether it became the champion."""

    card: ModelCard
    promoted: bool
    champion: str | None
    champion_metrics: dict[str, float] = field(default_factory=dict)


def train(options: TrainOptions) -> TrainResult:
    """Train, evaluate against the champion, save and maybe promote a candidate."""
    with open(options.data, "rb") as handle:
        lines = sum(1 for _ in handle)
    cases: list[Case] = []
    with progress_bar("replaying stream", lines, options.progress) as advance:
        dataset = build_dataset(
            collect(read_lines(options.data), cases, advance), options.label_delay_days
        )
    if len(dataset.y) == 0 or dataset.y.sum() == 0:
        raise ValueError(f"{options.data} has no fraud to learn from; simulate more days")
    digest = hashlib.sha256(options.data.read_bytes()).hexdigest()
    params = {"label_delay_days": options.label_delay_days, "source": "stream"}
    return fit_and_register(dataset, options, digest, params, cases)


def fit_and_register(
    dataset: Dataset,
    options: TrainOptions,
    digest: str,
    params: dict[str, Any],
    cases: list[Case] | None = None,
) -> TrainResult:
    """Split by time, fit, evaluate against the champion, save and maybe promote.

    Shared by every source of training rows (a simulated stream, the production sink).
    With the rows' ``cases`` (a stream's answers), the policy is fitted on the hold-out,
    scored by the candidate, and saved beside it.
    """
    train_rows, test_rows = _time_split(dataset.ts, options.test_share)
    params = {**params, "boosted_on": "dask" if options.dask_scheduler else "local"}
    booster = _fit(dataset, train_rows, options)
    scores = np.asarray(booster.inplace_predict(dataset.X[test_rows]), dtype=np.float64)
    metrics = _metrics(dataset.y[test_rows], scores)
    card = _card(options, dataset, (train_rows, test_rows), booster, metrics, digest, params)
    policy = None
    if cases is not None:
        held = np.flatnonzero(test_rows).tolist()
        hold_out = Cases([cases[i] for i in held], scores, [dataset.scenarios[i] for i in held])
        policy = fit_policy(hold_out, options.policy_settings, f"hold-out of {digest[:12]}")
    save_candidate(booster, card, options.models_dir, policy)
    champion, champion_metrics = _champion_on(options.models_dir, dataset, test_rows)
    better = not champion_metrics or metrics[options.metric] > champion_metrics[options.metric]
    promoted = options.promote == "always" or (options.promote == "if-better" and better)
    if promoted:
        promote(options.models_dir, card.version)
    return TrainResult(card, promoted, champion, champion_metrics)


def _time_split(
    ts: NDArray[np.float64], test_share: float
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    cutoff = float(np.quantile(ts, 1.0 - test_share))
    return ts < cutoff, ts >= cutoff


def _fit(dataset: Dataset, rows: NDArray[np.bool_], options: TrainOptions) -> xgb.Booster:
    """friction's recipe (``training.booster``, as benchmarked) with the options' overrides;
    rounds run here or on the Dask cluster, each row weighted by 1 / its label's propensity."""
    spec = replace(
        FRICTION.with_params(
            max_depth=options.max_depth, eta=options.learning_rate, seed=options.seed
        ),
        rounds=options.rounds,
    )
    X, y, ts, w = dataset.X[rows], dataset.y[rows], dataset.ts[rows], dataset.weights()[rows]
    with boosting(options.dask_scheduler, options.progress) as boost:
        return fit(spec, X, y, ts, w, boost)


def _metrics(y: NDArray[np.int8], scores: NDArray[np.floating]) -> dict[str, float]:
    return {
        "auc": round(roc_auc(y, scores), 5),
        "ap": round(average_precision(y, scores), 5),
        "test_rows": float(len(y)),
        "test_frauds": float(int(y.sum())),
    }


def _champion_on(
    models_dir: Path, dataset: Dataset, rows: NDArray[np.bool_]
) -> tuple[str | None, dict[str, float]]:
    """The champion's metrics on the candidate's hold-out (none if there is no champion)."""
    version = champion_version(models_dir)
    if version is None:
        return None, {}
    try:
        champion = load_model(models_dir, version)
    except NoModel:
        return version, {}
    return version, _metrics(dataset.y[rows], champion.predict_batch(dataset.X[rows]))


def _card(
    options: TrainOptions,
    dataset: Dataset,
    split: tuple[NDArray[np.bool_], NDArray[np.bool_]],
    booster: xgb.Booster,
    metrics: dict[str, float],
    digest: str,
    params: dict[str, Any],
) -> ModelCard:
    train_rows, test_rows = split
    now = datetime.now(UTC)
    return ModelCard(
        version=f"{now:%Y%m%d-%H%M%S}-{digest[:8]}",
        created_at=now,
        feature_names=list(FEATURE_NAMES),
        schema_hash=schema_hash(FEATURE_NAMES),
        train_start=_when(dataset.ts[train_rows].min()),
        train_end=_when(dataset.ts[train_rows].max()),
        test_start=_when(dataset.ts[test_rows].min()),
        test_end=_when(dataset.ts[test_rows].max()),
        data_hash=digest,
        rows={"train": int(train_rows.sum()), "test": int(test_rows.sum()),
              "train_frauds": int(dataset.y[train_rows].sum())},
        metrics=metrics,
        params={"rounds": booster.num_boosted_rounds(), "max_depth": options.max_depth,
                "eta": options.learning_rate, **params},
        libraries={"xgboost": xgb.__version__, "numpy": np.__version__,
                   "python": platform.python_version()},
        payments_sketch=payments_sketch(dataset.payment_ids, dataset.ts.tolist()),
    )  # fmt: skip


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(float(ts), tz=UTC)
