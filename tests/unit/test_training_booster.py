"""friction's XGBoost recipe: the time hold-out, the round count, one recipe for both callers."""

from __future__ import annotations

import numpy as np

from friction.benchmark import models
from friction.offline.booster import DAY_SECONDS, FRICTION, early_stopped_rounds, fit, holdout_mask
from friction.offline.boosting import local
from friction.offline.train import TrainOptions

RNG = np.random.default_rng(3)


def learnable(days: int = 7, per_day: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows over ``days`` days where fraud is likelier at large x0."""
    n = days * per_day
    x = RNG.normal(size=(n, 3))
    y = (RNG.random(n) < 1 / (1 + np.exp(-(3 * x[:, 0] - 4)))).astype(np.int64)
    ts = np.repeat(np.arange(days), per_day) * DAY_SECONDS + RNG.integers(0, 86_400, n)
    return x, y, ts.astype(np.float64)


def test_the_holdout_is_the_last_whole_days() -> None:
    ts = np.arange(7 * 24) * 3600.0  # 7 days, hourly
    hold = holdout_mask(ts, 2 / 7)
    assert hold.sum() == 48 and hold[-48:].all() and not hold[:-48].any()
    assert holdout_mask(ts, 0.01).sum() == 24  # at least one whole day


def test_early_stopping_picks_fewer_rounds_and_scales_them_to_the_window() -> None:
    x, y, ts = learnable()
    spec = FRICTION.with_params(eta=0.3)
    rounds = early_stopped_rounds(spec, (x, y, np.ones(len(y))), ts, local(False, None))
    assert 10 <= rounds < spec.rounds
    booster = fit(spec, x, y, ts)
    assert booster.num_boosted_rounds() == rounds


def test_without_fraud_in_the_holdout_all_rounds_are_trained() -> None:
    x, y, ts = learnable()
    y[holdout_mask(ts, FRICTION.holdout_share)] = 0
    spec = FRICTION.with_params(eta=0.3)
    assert (
        early_stopped_rounds(spec, (x, y, np.ones(len(y))), ts, local(False, None)) == spec.rounds
    )


def test_friction_train_and_the_benchmark_share_the_recipe() -> None:
    assert models.FRICTION is FRICTION
    options = TrainOptions(data=None, models_dir=None)  # type: ignore[arg-type]
    assert options.rounds == FRICTION.rounds
    assert options.max_depth == FRICTION.params["max_depth"]
    assert options.learning_rate == FRICTION.params["eta"]
