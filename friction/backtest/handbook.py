"""The handbook CSVs as a backtest: friction's features, a model trained on the first days.

A simulator-trained model does not transfer to the handbook's world, so the model is
trained here, on the days before the backtest starts, with labels only up to seven
days before it (what a bank would have had), on the features friction computes
(``friction.benchmark.replay``, the same ``FeatureBook`` the service serves from).
The cases start with that last week, which the model did not train on: the policy is
fitted on it (``replay_from`` marks where the replay begins), scored out of sample.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from friction.offline.booster import fit_model
from friction.offline.cases import Advance, Cases, handbook_cases
from friction.offline.feature_cache import cached_features
from friction.offline.handbook_stream import DAY_SECONDS, data_files, data_hash, load_stream

LABEL_DELAY_DAYS = 7


def handbook(
    directory: Path, train_days: int, cache_dir: Path | None, advance: Advance
) -> tuple[Cases, float]:
    """Cases from the week before ``train_days`` on, scored by a model trained before that
    week, and the time the replay starts (day ``train_days``)."""
    files = data_files(directory)
    stream = load_stream(files)
    matrix = cached_features(stream, data_hash(files), cache_dir, progress=advance)
    day = (stream.ts - stream.ts[0]) // DAY_SECONDS
    train = day < train_days - LABEL_DELAY_DAYS
    test = day >= train_days - LABEL_DELAY_DAYS
    if not train.any() or not (day >= train_days).any():
        raise ValueError(f"--train-days {train_days} leaves no training or no backtest days")
    y = stream.fraud[train].astype(np.int8)
    model = fit_model(matrix[train], y, np.ones(len(y)), 300, "handbook")
    scores = np.asarray(model.predict_batch(matrix[test]), dtype=np.float64)
    part = stream.take(np.flatnonzero(test))
    cases = handbook_cases(part.ts, part.customer, part.terminal, part.amount, part.fraud)
    scenarios = ["fraud" if f else "genuine" for f in part.fraud.tolist()]
    replay_from = float(stream.ts[0] + train_days * DAY_SECONDS)
    return Cases(cases, scores, scenarios), replay_from
