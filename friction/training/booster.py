"""friction's XGBoost recipe: one code path for ``friction train`` and the handbook benchmark.

The number of trees is chosen by early stopping on the *last days* of the
training window (a time split: the model is judged on days after the ones it
learned from, as it will be served), then the model is refit on the whole
window with the round count scaled to the extra data, so the freshest days are
in the model. The parameters were tuned on the handbook's validation folds
(``docs/decisions-model.md`` records what each one earned).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import xgboost as xgb
from numpy.typing import NDArray

DAY_SECONDS = 86_400.0
THREADS = 1
"""One thread: on two cores shared with other work, OpenMP threads spin-wait on each
other; a fold trained 5x faster single-threaded (10.7 s vs 57.6 s), same trees."""
Advance = Callable[[float], None]


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


def fit(
    spec: BoosterSpec,
    x: NDArray[np.float64],
    y: NDArray[Any],
    ts: NDArray[Any],
    feature_names: list[str] | None = None,
    advance: Advance | None = None,
) -> xgb.Booster:
    """Train on (x, y); ``ts`` (seconds) orders the rows for the early-stopping split."""
    rounds = spec.rounds
    if spec.holdout_share > 0:
        rounds = early_stopped_rounds(spec, x, y, ts, feature_names)
    data = xgb.DMatrix(x, label=y, feature_names=feature_names)
    callbacks = [_Advance(advance)] if advance is not None else None
    return xgb.train(spec.params, data, rounds, verbose_eval=False, callbacks=callbacks)


def holdout_mask(ts: NDArray[Any], share: float) -> NDArray[np.bool_]:
    """Rows on the window's last ``share`` of days (rounded, at least one whole day)."""
    day = np.floor_divide(np.asarray(ts, dtype=np.float64), DAY_SECONDS)
    span = int(day.max() - day.min()) + 1
    kept = max(1, round(share * span))
    return np.asarray(day > day.max() - kept, dtype=np.bool_)


def early_stopped_rounds(
    spec: BoosterSpec,
    x: NDArray[np.float64],
    y: NDArray[Any],
    ts: NDArray[Any],
    feature_names: list[str] | None = None,
) -> int:
    """Rounds that maximise the eval metric on the held-out last days, scaled to the window.

    Falls back to ``spec.rounds`` when either side of the split has no fraud
    (nothing to judge by).
    """
    hold = holdout_mask(ts, spec.holdout_share)
    fit_rows = ~hold
    if y[hold].sum() == 0 or y[fit_rows].sum() == 0:
        return spec.rounds
    probe = xgb.train(
        spec.params,
        xgb.DMatrix(x[fit_rows], label=y[fit_rows], feature_names=feature_names),
        num_boost_round=spec.rounds,
        evals=[(xgb.DMatrix(x[hold], label=y[hold], feature_names=feature_names), "hold")],
        early_stopping_rounds=spec.patience,
        verbose_eval=False,
    )
    best = int(probe.best_iteration) + 1
    share = float(fit_rows.mean())
    return max(10, min(spec.rounds, round(best / share)))


class _Advance(xgb.callback.TrainingCallback):
    """Moves a progress bar one step per boosting round."""

    def __init__(self, advance: Advance) -> None:
        super().__init__()
        self._advance = advance

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self._advance(1)
        return False
