"""The loop's nightly retrain and promotion gate, for one arm's labels.

Every label carries the loop day it reached the arm (``-1``: the warm-up history the
initial model was trained on). After day ``d`` a candidate is trained on the labels
that arrived up to day ``d - holdout_days`` and judged, next to the champion, on the
labels that arrived since. The champion was trained on labels older still, so neither
model has seen the hold-out and the comparison is fair, however few labels an arm gets.
The price is that a promoted model lags its arm's labels by ``holdout_days``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from friction.offline.booster import LOOP_LEARNING_RATE, fit_model
from friction.offline.metrics import average_precision
from friction.scoring.model import Model


@dataclass(frozen=True, slots=True)
class Label:
    """What an arm knows about one payment, and since when."""

    fraud: bool
    weight: float
    """1 / propensity of the action that produced the label."""
    day: int
    """Loop day it reached the arm; -1 for the warm-up history."""


@dataclass(frozen=True, slots=True)
class Gate:
    """How a night trains and judges a candidate."""

    rounds: int = 60
    seed: int = 7
    holdout_days: int = 1
    min_frauds: int = 3
    """Frauds the hold-out needs before a candidate can be judged on it."""
    promote: Literal["if-better", "always"] = "if-better"
    """``always`` serves every candidate (tests of what retraining learns, not of the gate)."""

    def fit(
        self, X: NDArray[np.float64], y: NDArray[np.int8], weight: NDArray[np.float64], version: str
    ) -> Model:
        """A nightly model: few rounds, a larger step."""
        return fit_model(X, y, weight, self.rounds, version, self.seed, LOOP_LEARNING_RATE)


@dataclass(frozen=True, slots=True)
class Night:
    """What one night did: the hold-out, both models' AP on it, and the verdict."""

    trained: bool = False
    promoted: bool = False
    holdout: int = 0
    holdout_frauds: int = 0
    candidate_ap: float = float("nan")
    champion_ap: float = float("nan")


def nightly(
    labels: dict[int, Label], X: NDArray[np.float64], champion: Model,
    trained_through: int, day: int, gate: Gate, version: str,
) -> tuple[Model | None, Night]:  # fmt: skip
    """After ``day``: the candidate to serve tomorrow (None: keep the champion) and the night.

    No candidate when no label arrived since the champion's training window (it would be
    the champion again), or when the hold-out has too few frauds to tell two models apart.
    """
    cutoff = day - gate.holdout_days
    train = [r for r, label in labels.items() if label.day <= cutoff]
    hold = [r for r, label in labels.items() if label.day > cutoff]
    fresh = any(trained_through < labels[r].day for r in train)
    y_hold = np.array([labels[r].fraud for r in hold], dtype=np.int8)
    frauds = int(y_hold.sum())
    night = Night(holdout=len(hold), holdout_frauds=frauds)
    judged = gate.min_frauds <= frauds < len(hold)
    if not fresh or not (judged or gate.promote == "always"):
        return None, night
    y = np.array([labels[r].fraud for r in train], dtype=np.int8)
    weight = np.array([labels[r].weight for r in train])
    candidate = gate.fit(X[train], y, weight, version)
    if not judged:
        return candidate, Night(True, True, len(hold), frauds)
    mine = average_precision(y_hold, candidate.predict_batch(X[hold]))
    theirs = average_precision(y_hold, champion.predict_batch(X[hold]))
    promoted = mine > theirs or gate.promote == "always"
    return (candidate if promoted else None), Night(True, promoted, len(hold), frauds, mine, theirs)
