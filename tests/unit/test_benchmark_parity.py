"""The benchmark's friction features are the online path's: same events, same vectors."""

from __future__ import annotations

import heapq
import math
from pathlib import Path

import numpy as np

from friction.offline.feature_cache import cached_features, payment_facts, replay_features
from friction.offline.handbook_stream import DAY_SECONDS, data_files, data_hash, load_stream
from friction.scoring.features import FEATURE_NAMES, FeatureBook, unusual_amount
from tests.unit._handbook_stream import write_handbook_csv

DELAY = 7 * DAY_SECONDS


def online_vectors(path: Path) -> list[list[float]]:
    """Feed events one by one into a fresh book, labels from a heap keyed by arrival time."""
    stream = load_stream([path])
    book = FeatureBook()
    pending: list[tuple[float, int]] = []
    vectors: list[list[float]] = []
    for i, payment in enumerate(payment_facts(stream)):
        while pending and pending[0][0] <= payment.ts:
            _, j = heapq.heappop(pending)
            done = payment_facts(stream.take(np.array([j])))[0]
            fraud, unusual = bool(stream.fraud[j]), unusual_amount(vectors[j])
            book.label(done.merchant_id, done.terminal_id, done.day, fraud, unusual)
        vectors.append(book.observe(payment))
        heapq.heappush(pending, (payment.ts + DELAY, i))
    return vectors


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_benchmark_features_equal_the_online_path(tmp_path: Path) -> None:
    path = write_handbook_csv(tmp_path / "transactions-2018-04.csv", days=45)
    offline = replay_features(load_stream([path]))
    online = online_vectors(path)
    assert offline.shape == (len(online), len(FEATURE_NAMES))
    mismatches = [
        (row, name)
        for row, vector in enumerate(online)
        for name, a, b in zip(FEATURE_NAMES, vector, offline[row].tolist(), strict=True)
        if not same(a, b)
    ]
    assert mismatches == []
    fraud_col = FEATURE_NAMES.index("terminal_fraud_30d")
    assert np.nansum(offline[:, fraud_col]) > 0  # matured labels were part of the comparison


def test_labels_are_not_seen_before_the_delay(tmp_path: Path) -> None:
    path = write_handbook_csv(tmp_path / "transactions-2018-04.csv.gz", days=12)
    stream = load_stream([path])
    features = replay_features(stream)
    fraud_col = FEATURE_NAMES.index("terminal_fraud_30d")
    first_fraud = stream.ts[stream.fraud == 1].min()
    early = stream.ts < first_fraud + DELAY
    assert np.all(features[early, fraud_col] == 0)


def test_cache_is_reused_and_keyed_by_data(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    path = write_handbook_csv(tmp_path / "data" / "transactions-2018-04.csv", days=10)
    files = data_files(path.parent)
    stream = load_stream(files)
    first = cached_features(stream, data_hash(files), tmp_path / "cache")
    cached = list((tmp_path / "cache").iterdir())
    assert len(cached) == 1
    again = cached_features(stream, data_hash(files), tmp_path / "cache")
    np.testing.assert_array_equal(first, again)
