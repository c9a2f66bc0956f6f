"""Where the boosting rounds run: in this process, or on a Dask cluster.

``friction train`` decides *what* to fit (rows, parameters, early stopping, the
registry); a ``Boost`` only runs the rounds. Keeping that seam this narrow is what
makes a model trained on a cluster the same kind of model as a local one: same
features, same parameters, same card, same promotion gate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xgboost as xgb
from numpy.typing import NDArray

from friction.progress import progress_bar
from friction.scoring.features import FEATURE_NAMES

Rows = tuple[NDArray[np.float64], NDArray[np.int8], NDArray[np.float64]]
"""A feature matrix, its 0/1 labels and each row's weight (1 / propensity of its label)."""

Boost = Callable[[dict[str, Any], Rows, int, Rows | None, int], xgb.Booster]
"""``boost(params, train, rounds, validation, patience)``: a booster of at most ``rounds``
rounds; with validation rows it stops ``patience`` rounds after their best eval metric."""


def local(progress: bool, feature_names: Sequence[str] | None = FEATURE_NAMES) -> Boost:
    """Rounds in this process, with a progress bar; columns named ``feature_names``."""

    def boost(
        params: dict[str, Any], train: Rows, rounds: int, validation: Rows | None, patience: int
    ) -> xgb.Booster:
        evals = [] if validation is None else [(matrix(validation, feature_names), "validation")]
        stage = "early stopping" if evals else "training"
        with progress_bar(stage, rounds, progress) as advance:
            return xgb.train(
                params, matrix(train, feature_names), rounds, evals=evals, verbose_eval=False,
                early_stopping_rounds=patience if evals else None,
                callbacks=[_Advance(advance)],
            )  # fmt: skip

    return boost


def matrix(rows: Rows, feature_names: Sequence[str] | None = FEATURE_NAMES) -> xgb.DMatrix:
    """Weighted training rows, columns named by the shared feature list by default."""
    X, y, weight = rows
    names = None if feature_names is None else list(feature_names)
    return xgb.DMatrix(X, label=y, weight=weight, feature_names=names)


class _Advance(xgb.callback.TrainingCallback):
    """Moves a progress bar one step per boosting round."""

    def __init__(self, advance: Callable[[float], None]) -> None:
        super().__init__()
        self._advance = advance

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self._advance(1)
        return False
