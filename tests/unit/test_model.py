"""The fast evaluator must give xgboost's numbers: same trees, same float32 splits, same NaNs."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from friction.scoring.features import FEATURE_NAMES
from friction.scoring.model import Model, ModelError

WIDTH = len(FEATURE_NAMES)


def random_data(rows: int, seed: int, nan_share: float = 0.15) -> np.ndarray:
    """Features with heavy tails and missing values, like real ones."""
    rng = np.random.default_rng(seed)
    x = rng.lognormal(size=(rows, WIDTH)) * rng.choice([-1.0, 1.0], size=(rows, WIDTH))
    x[rng.random(x.shape) < nan_share] = math.nan
    return x


def train_booster(
    depth: int = 4, trees: int = 20, base_score: float | None = None, seed: int = 0, **extra: Any
) -> Any:
    """A tiny xgboost model trained in milliseconds."""
    x = random_data(400, seed)
    rng = np.random.default_rng(seed + 1)
    y = (np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 7]) + rng.normal(size=len(x)) > 1).astype(
        float
    )
    params: dict[str, Any] = {"objective": "binary:logistic", "max_depth": depth, "eta": 0.3}
    params |= {"nthread": 1, **extra}
    if base_score is not None:
        params["base_score"] = base_score
    return xgb.train(params, xgb.DMatrix(x, y), num_boost_round=trees)


def tiny_model(version: str = "test", **kwargs: Any) -> Model:
    return Model.from_booster(train_booster(**kwargs), version=version, feature_names=FEATURE_NAMES)


@pytest.mark.parametrize(
    ("depth", "trees", "base_score"),
    [(1, 1, None), (3, 7, 0.05), (4, 30, 0.5), (6, 60, None), (8, 13, 0.9)],
)
def test_predict_matches_xgboost(depth: int, trees: int, base_score: float | None) -> None:
    booster = train_booster(depth, trees, base_score)
    model = Model.from_booster(booster, version="t", feature_names=FEATURE_NAMES)
    rows = random_data(300, seed=depth * 100 + trees, nan_share=0.3)
    rows[0] = math.nan  # everything missing: default directions all the way
    expected = booster.inplace_predict(rows, missing=math.nan)
    got = np.array([model.predict(list(map(float, row))) for row in rows])
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(model.predict_batch(rows), expected, atol=1e-6, rtol=0)


def test_values_at_thresholds_split_like_xgboost() -> None:
    """Inputs equal to, or rounding in float32 to, a threshold go where xgboost sends them."""
    booster = train_booster(6, 40)
    model = Model.from_booster(booster, version="t", feature_names=FEATURE_NAMES)
    trees = json.loads(bytes(booster.save_raw("json")))["learner"]["gradient_booster"]["model"]
    rows = random_data(200, seed=5, nan_share=0.1)
    for i, tree in enumerate(trees["trees"][:200]):
        if tree["left_children"][0] >= 0:
            threshold = tree["split_conditions"][0]
            nudge = np.nextafter(np.float32(threshold), np.float32(np.inf)).item()
            rows[i % 200, tree["split_indices"][0]] = (
                threshold if i % 2 else (threshold + nudge) / 2
            )
    expected = booster.inplace_predict(rows, missing=math.nan)
    got = np.array([model.predict(row) for row in rows])
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize(("depth", "trees"), [(2, 5), (6, 50), (8, 9)])
def test_contributions_sum_to_margin_and_match_xgboost(depth: int, trees: int) -> None:
    booster = train_booster(depth, trees, base_score=0.3)
    model = Model.from_booster(booster, version="t", feature_names=FEATURE_NAMES)
    rows = random_data(100, seed=depth, nan_share=0.3)
    expected = booster.predict(xgb.DMatrix(rows), pred_contribs=True, approx_contribs=True)
    for row, want in zip(rows, expected, strict=True):
        explained = model.explain(row)
        assert explained.contributions.sum() == pytest.approx(model.margin(row), abs=1e-9)
        np.testing.assert_allclose(explained.contributions, want, atol=1e-5, rtol=0)
        assert explained.score == pytest.approx(model.predict(row), abs=1e-12)


def test_ranked_lists_positive_contributions_largest_first() -> None:
    model = tiny_model(depth=5, trees=40)
    for row in random_data(50, seed=9):
        explained = model.explain(row)
        credits = explained.contributions[:-1]
        ranked = [i for i in explained.ranked.tolist() if i >= 0]
        assert sorted(ranked) == sorted(np.flatnonzero(credits > 0).tolist())
        assert all(credits[a] >= credits[b] for a, b in itertools.pairwise(ranked))


def test_contributions_are_named() -> None:
    model = tiny_model()
    pairs = model.contributions([0.0] * WIDTH)
    assert [name for name, _ in pairs] == [*FEATURE_NAMES, "bias"]


def test_wrong_width_is_refused() -> None:
    model = tiny_model()
    with pytest.raises(ValueError, match=f"expected {WIDTH} features"):
        model.predict([1.0, 2.0])


@pytest.mark.parametrize(
    "params",
    [
        {"objective": "reg:squarederror"},
        {"objective": "multi:softprob", "num_class": 3},
        {"booster": "dart"},
    ],
)
def test_models_it_cannot_serve_exactly_are_refused(params: dict[str, Any]) -> None:
    x = random_data(200, seed=3)
    y = np.arange(200) % 3 if "num_class" in params else np.arange(200) % 2
    booster = xgb.train(
        {"objective": "binary:logistic", "nthread": 1, **params}, xgb.DMatrix(x, y), 3
    )
    with pytest.raises(ModelError):
        Model.from_booster(booster, version="t", feature_names=FEATURE_NAMES)


def test_feature_count_must_match_the_names() -> None:
    with pytest.raises(ModelError, match="features"):
        Model.from_booster(train_booster(), version="t", feature_names=FEATURE_NAMES[:-1])
