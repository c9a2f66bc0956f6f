"""Ranking metrics for imbalanced fraud data, in numpy (no scikit-learn needed)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Labels = NDArray[np.floating] | NDArray[np.integer] | NDArray[np.bool_]


def roc_auc(y: Labels, score: NDArray[np.floating]) -> float:
    """Area under the ROC curve (ties count half), via the rank-sum statistic."""
    truth = np.asarray(y, dtype=bool)
    positives = int(truth.sum())
    negatives = len(truth) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score), dtype=np.float64)
    sorted_scores = np.asarray(score)[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def average_precision(y: Labels, score: NDArray[np.floating]) -> float:
    """Average precision: mean precision at each true positive, ranked by score (ties grouped)."""
    truth = np.asarray(y, dtype=bool)
    positives = int(truth.sum())
    if positives == 0:
        return float("nan")
    order = np.argsort(-np.asarray(score), kind="mergesort")
    sorted_scores = np.asarray(score)[order]
    hits = np.cumsum(truth[order])
    # evaluate at the last index of each tie group, as scikit-learn does
    last = np.r_[np.nonzero(np.diff(sorted_scores))[0], len(sorted_scores) - 1]
    tp = hits[last]
    precision = tp / (last + 1)
    recall_gain = np.diff(np.r_[0, tp]) / positives
    return float(np.sum(precision * recall_gain))
