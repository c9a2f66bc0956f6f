"""Ranking metrics agree with hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from friction.offline.metrics import average_precision, roc_auc


def test_auc_perfect_random_and_ties() -> None:
    y = np.array([0, 0, 1, 1])
    assert roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert roc_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert roc_auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75


def test_average_precision_known_case() -> None:
    # ranking: 1 (hit), 0, 1 (hit) -> AP = (1/1 + 2/3) / 2
    y = np.array([1, 0, 1])
    score = np.array([0.9, 0.8, 0.7])
    assert average_precision(y, score) == pytest.approx((1 + 2 / 3) / 2)


def test_no_positives_is_nan() -> None:
    assert np.isnan(average_precision(np.zeros(3), np.arange(3.0)))
    assert np.isnan(roc_auc(np.zeros(3), np.arange(3.0)))


def test_against_brute_force_definitions_with_ties() -> None:
    """AUC = P(score of a fraud > score of a genuine) + ½ P(tie), over every pair; AP = the
    mean, over thresholds at each distinct score, of precision × the recall it adds."""
    rng = np.random.default_rng(7)
    for _ in range(20):
        y = rng.random(60) < 0.3
        score = np.round(rng.random(60), 1)  # coarse: many ties
        pos, neg = score[y], score[~y]
        pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
        assert roc_auc(y, score) == pytest.approx(pairs / (len(pos) * len(neg)))
        expected, recall = 0.0, 0.0
        for t in np.unique(score)[::-1]:
            chosen = score >= t
            precision = (chosen & y).sum() / chosen.sum()
            now = (chosen & y).sum() / y.sum()
            expected += precision * (now - recall)
            recall = now
        assert average_precision(y, score) == pytest.approx(expected)
