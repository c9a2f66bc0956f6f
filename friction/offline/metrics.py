"""Ranking metrics for imbalanced fraud data, in numpy: the one implementation friction uses.

``friction train``'s promotion gate, the learning loop, the analytics and the handbook
benchmark all call these (no scikit-learn dependency for three functions). AUC ROC and
average precision handle ties the way scikit-learn does (tied scores form one step), so
numbers are comparable to the book's; ``tests/unit/test_metrics.py`` checks them against
a brute-force computation. Card Precision@k counts cards, not
transactions: an investigator can check ``k`` cards a day.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from friction.offline.handbook_stream import F64, I64

Labels = NDArray[Any]
"""Fraud labels: booleans or 0/1 integers of any width."""
Scores = NDArray[Any]
"""Scores: floats of any width."""


def _curve(labels: I64, scores: F64) -> tuple[F64, F64]:
    """Cumulative true and false positives at each distinct score threshold, highest first."""
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores = scores[order]
    sorted_labels = labels[order].astype(np.float64)
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
    tps = np.cumsum(sorted_labels)[last_of_tie]
    fps = (last_of_tie + 1) - tps
    return tps, fps


def roc_auc(labels: Labels, scores: Scores) -> float:
    """Area under the ROC curve (trapezoids, so ties count half)."""
    tps, fps = _curve(np.asarray(labels, dtype=np.int64), np.asarray(scores, dtype=np.float64))
    if tps[-1] == 0 or fps[-1] == 0:
        return float("nan")
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def average_precision(labels: Labels, scores: Scores) -> float:
    """Average precision: precision at each threshold weighted by the recall it adds."""
    tps, fps = _curve(np.asarray(labels, dtype=np.int64), np.asarray(scores, dtype=np.float64))
    if tps[-1] == 0:
        return float("nan")
    precision = tps / (tps + fps)
    recall_gain = np.diff(np.r_[0.0, tps / tps[-1]])
    return float(np.sum(precision * recall_gain))


def card_precision_at_k(days: I64, cards: I64, labels: I64, scores: F64, k: int = 100) -> float:
    """Card Precision@k averaged over days.

    Each day, a card's score and label are the maximum over its transactions;
    cards already caught (true positives in an earlier day's top k) are left
    out, as an investigator would not check them again; precision is the
    share of frauds among the top ``k`` cards, divided by ``k`` even when
    fewer cards remain.
    """
    caught: set[int] = set()
    precisions: list[float] = []
    for day in np.unique(days):
        rows = days == day
        card_ids, inverse = np.unique(cards[rows], return_inverse=True)
        card_score = np.full(len(card_ids), -np.inf)
        np.maximum.at(card_score, inverse, scores[rows])
        card_label = np.zeros(len(card_ids), dtype=np.int64)
        np.maximum.at(card_label, inverse, labels[rows])
        fresh = np.array([c not in caught for c in card_ids.tolist()], dtype=bool)
        ids, score, label = card_ids[fresh], card_score[fresh], card_label[fresh]
        top = np.argsort(-score, kind="mergesort")[:k]
        hits = ids[top][label[top] == 1]
        caught.update(hits.tolist())
        precisions.append(len(hits) / k)
    return float(np.mean(precisions)) if precisions else float("nan")
