"""Single-payment model cost: xgboost ``inplace_predict`` vs friction's evaluator.

The hot path (``friction.scoring.explain``) walks the trees once for the score and credits
the features from the leaves reached only for a payment scored at or above ``challenge_at``:
``friction_hot_path_low_risk`` is the usual payment, ``friction_predict_plus_reasons`` one
shown with reasons. The last row adds a shadow challenger (a second copy of the model, as
the service runs it with ``FRICTION_SHADOW_MODEL``) to the champion's score and reasons: its
cost is the difference between the last two rows.

    .venv/bin/python loadtest/bench_model.py [--models models] [--rounds 20000]

Scores the champion of ``--models`` if there is one, else a model trained here on
random data of ``FEATURE_NAMES`` width (200 trees, depth 6). All figures come from one
process, and ratios against the xgboost baseline measured in it are what to compare:
the machine is shared and absolute microseconds move from run to run. The last line
is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb
from rich.console import Console
from rich.table import Table

from friction.scoring.explain import explain
from friction.scoring.features import FEATURE_NAMES
from friction.scoring.model import Model
from friction.scoring.registry import champion_version, load_model
from friction.scoring.shadow import shadow_score


def random_model(trees: int, depth: int, seed: int = 7) -> Model:
    """A model on random data with missing values, as deep and wide as a real one."""
    rng = np.random.default_rng(seed)
    x = rng.lognormal(size=(20_000, len(FEATURE_NAMES)))
    x[rng.random(x.shape) < 0.1] = math.nan
    logit = np.nan_to_num(x[:, 0] - x[:, 7] + 0.5 * x[:, 10]) + rng.normal(size=len(x))
    y = (logit > np.quantile(logit, 0.9)).astype(np.float32)
    params = {"objective": "binary:logistic", "max_depth": depth, "eta": 0.1, "nthread": 1}
    booster = xgb.train(params, xgb.DMatrix(x, y), num_boost_round=trees)
    return Model.from_booster(booster, version="bench-random", feature_names=FEATURE_NAMES)


def sample_rows(n: int, seed: int = 11) -> list[list[float]]:
    """Feature vectors as the service has them: Python lists, some NaN."""
    rng = np.random.default_rng(seed)
    x = rng.lognormal(size=(n, len(FEATURE_NAMES)))
    x[rng.random(x.shape) < 0.1] = math.nan
    return [list(map(float, row)) for row in x]


def per_call_us(call: Callable[[Any], object], rows: list[Any], rounds: int) -> float:
    """Median over 5 repeats of the mean µs per call, cycling through ``rows``."""
    for row in rows[:50]:
        call(row)
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        for i in range(rounds):
            call(rows[i % len(rows)])
        samples.append((time.perf_counter() - started) / rounds * 1e6)
    return statistics.median(samples)


def measure(model: Model, rounds: int) -> dict[str, float]:
    """µs per single-row call of each way to score."""
    rows = sample_rows(256)
    arrays = [np.asarray([row], dtype=np.float32) for row in rows]
    booster = xgb.Booster()
    booster.load_model(bytearray(model.to_json()))
    booster.set_param({"nthread": 1})
    slow_rounds = max(200, rounds // 50)
    shadow = Model(model.to_json(), version="shadow", feature_names=model.feature_names)
    return {
        "xgboost_inplace_predict": per_call_us(
            lambda a: booster.inplace_predict(a, missing=math.nan), arrays, slow_rounds
        ),
        "friction_predict": per_call_us(model.predict, rows, rounds),
        "friction_explain_contributions": per_call_us(model.explain, rows, rounds),
        # the hot path's call: a payment scored below challenge_at gets no contributions ...
        "friction_hot_path_low_risk": per_call_us(
            lambda row: explain(model, row, low_risk_below=1.0), rows, rounds
        ),
        # ... one at or above it is credited from the leaves its walk reached
        "friction_predict_plus_reasons": per_call_us(
            lambda row: explain(model, row, low_risk_below=0.0), rows, rounds
        ),
        "friction_predict_plus_reasons_plus_shadow": per_call_us(
            lambda row: (explain(model, row, low_risk_below=0.0), shadow_score(shadow, row)),
            rows,
            rounds,
        ),
    }


def report(model: Model, figures: dict[str, float], console: Console) -> dict[str, Any]:
    """Print the table; the JSON summary."""
    base = figures["xgboost_inplace_predict"]
    table = Table(title=f"single-row scoring, model {model.version} ({model.n_trees} trees)")
    for column in ("method", "µs / call", "x faster than xgboost", "≤ 20 µs"):
        table.add_column(column, justify="right" if column != "method" else "left")
    for name, us in figures.items():
        budget = "" if name.startswith("xgboost") else ("yes" if us <= 20 else "NO")
        table.add_row(name, f"{us:.2f}", f"{base / us:.1f}", budget)
    console.print(table)
    return {
        "model": model.version,
        "trees": model.n_trees,
        "us": {k: round(v, 3) for k, v in figures.items()},
        "speedup_vs_xgboost": {k: round(base / v, 2) for k, v in figures.items()},
        "within_20us": figures["friction_hot_path_low_risk"] <= 20.0,
        "within_20us_with_reasons": figures["friction_predict_plus_reasons"] <= 20.0,
        "shadow_added_us": round(
            figures["friction_predict_plus_reasons_plus_shadow"]
            - figures["friction_predict_plus_reasons"],
            3,
        ),
    }


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, pick or train a model, measure, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--models", type=Path, default=Path("models"), help="registry folder")
    parser.add_argument("--rounds", type=int, default=20_000, help="calls per repeat")
    parser.add_argument("--trees", type=int, default=200, help="random model: trees")
    parser.add_argument("--depth", type=int, default=6, help="random model: max depth")
    args = parser.parse_args(argv)
    console = Console(stderr=False)
    if champion_version(args.models) is not None:
        model = load_model(args.models)
    else:
        console.print(f"no champion in {args.models}: training a random {args.trees}-tree model")
        model = random_model(args.trees, args.depth)
    summary = report(model, measure(model, args.rounds), console)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
