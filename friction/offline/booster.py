"""friction's XGBoost recipes: one code path for ``friction train``, the learning loop's
nightly retrain, the backtest and the handbook benchmark.

The number of trees is chosen by early stopping on the *last days* of the
training window (a time split: the model is judged on days after the ones it
learned from, as it will be served), then the model is refit on the whole
window with the round count scaled to the extra data, so the freshest days are
in the model. The parameters were tuned on the handbook's validation folds
(``docs/decisions-model.md`` records what each one earned).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import xgboost as xgb
from numpy.typing import NDArray

from friction.offline.boosting import Boost, Rows, local
from friction.scoring.features import FEATURE_NAMES
from friction.scoring.model import Model

DAY_SECONDS = 86_400.0
THREADS = 1
"""One thread: on two cores shared with other work, OpenMP threads spin-wait on each
other; a fold trained 5x faster single-threaded (10.7 s vs 57.6 s), same trees."""


@dataclass(frozen=True, slots=True)
class BoosterSpec:
    """Booster parameters, the most rounds, and the early-stopping hold-out.

    ``holdout_share`` is the share of the window's days (whole days, at least
    one) kept aside to choose the round count; 0 trains ``rounds`` trees as is.
    """

    params: dict[str, Any]
    rounds: int
    holdout_share: float = 0.0
    patience: int = 50

    def with_params(self, **params: Any) -> BoosterSpec:
        """The same recipe with some booster parameters replaced."""
        return replace(self, params={**self.params, **params})


FRICTION = BoosterSpec(
    params={
        "objective": "binary:logistic",
        "eta": 0.02,  # small steps, many trees: +0.002 AUC over 0.05 at equal AP
        "max_depth": 4,
        "min_child_weight": 1.0,
        "subsample": 0.9,
        "colsample_bytree": 0.5,  # half the features per tree: the 35 overlap heavily
        "tree_method": "hist",
        "max_bin": 16_384,  # ~4 rows a bin: the 220 amount cut and fine ratios survive
        "base_score": 0.5,
        "eval_metric": "logloss",  # stops later than aucpr on 2 noisy days; better AUC
        "nthread": THREADS,
        "seed": 0,
    },
    rounds=1500,
    holdout_share=2 / 7,
)


LOOP_LEARNING_RATE = 0.2
"""Larger than ``friction train``'s: a nightly model gets few rounds on a small machine."""
NIGHTLY = BoosterSpec(
    params={
        "objective": "binary:logistic",
        "eval_metric": "aucpr",
        "max_depth": 5,
        "eta": LOOP_LEARNING_RATE,
        "subsample": 0.9,
        "colsample_bytree": 0.9,
        "min_child_weight": 2,
        "tree_method": "hist",
        "max_bin": 256,
        "base_score": 0.5,
        "seed": 0,
        "nthread": THREADS,
    },
    rounds=0,  # set per night by the caller
)
"""The nightly retrain's booster: small, fast, no early stopping (a night's hold-out judges
the candidate instead); the simulated worlds of ``friction loop`` were set with it."""


def fit_model(
    X: NDArray[np.float64], y: NDArray[np.int8], weight: NDArray[np.float64],
    rounds: int, version: str, seed: int = 0, learning_rate: float = 0.1,
) -> Model:  # fmt: skip
    """A weighted nightly model (``NIGHTLY``, no early stopping) as the served ``Model``."""
    spec = replace(NIGHTLY.with_params(eta=learning_rate, seed=seed), rounds=rounds)
    booster = fit(spec, X, y, np.zeros(len(y)), weight)
    return Model.from_booster(booster, version=version, feature_names=FEATURE_NAMES)


def fit(
    spec: BoosterSpec,
    x: NDArray[np.float64],
    y: NDArray[Any],
    ts: NDArray[Any],
    weight: NDArray[np.float64] | None = None,
    boost: Boost | None = None,
) -> xgb.Booster:
    """Train on (x, y); ``ts`` (seconds) orders the rows for the early-stopping split.

    ``weight``: each row's weight (1 / propensity of its label; all 1 by default).
    ``boost``: where the rounds run (``training.boosting``; unnamed columns in this process
    by default).
    """
    rows = (x, y, np.ones(len(y)) if weight is None else weight)
    boost = boost or local(progress=False, feature_names=None)
    rounds = spec.rounds
    if spec.holdout_share > 0:
        rounds = early_stopped_rounds(spec, rows, ts, boost)
    return boost(spec.params, rows, rounds, None, spec.patience)


def holdout_mask(ts: NDArray[Any], share: float) -> NDArray[np.bool_]:
    """Rows on the window's last ``share`` of days (rounded, at least one whole day)."""
    day = np.floor_divide(np.asarray(ts, dtype=np.float64), DAY_SECONDS)
    span = int(day.max() - day.min()) + 1
    kept = max(1, round(share * span))
    return np.asarray(day > day.max() - kept, dtype=np.bool_)


def early_stopped_rounds(spec: BoosterSpec, rows: Rows, ts: NDArray[Any], boost: Boost) -> int:
    """Rounds that maximise the eval metric on the held-out last days, scaled to the window.

    Falls back to ``spec.rounds`` when either side of the split has no fraud
    (nothing to judge by).
    """
    x, y, weight = rows
    hold = holdout_mask(ts, spec.holdout_share)
    kept = ~hold
    if y[hold].sum() == 0 or y[kept].sum() == 0:
        return spec.rounds
    train, validation = (x[kept], y[kept], weight[kept]), (x[hold], y[hold], weight[hold])
    probe = boost(spec.params, train, spec.rounds, validation, spec.patience)
    best = int(probe.best_iteration) + 1
    share = float(kept.mean())
    return max(10, min(spec.rounds, round(best / share)))
