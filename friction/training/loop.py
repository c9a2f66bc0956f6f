"""The learning loop, simulated: score → decide → customers answer → labels → nightly retrain.

Each *arm* runs its own closed loop over the same simulated days, with its own
feature state, policy state and champion model:

- ``dialogue``: customers' answers and analysts' verdicts become labels (and
  terminal/merchant feature state) minutes after the payment; chargebacks and
  "no complaint after 7 days" add matured labels later and may overturn an answer.
- ``delayed``: only the matured, 7-day-late labels, as a bank without dialogues has.

Both start from the same model, trained on a warm-up history. A payment that was
blocked never matures into a label (nobody lost money): the loop has the selection
bias a real one has, and exploration is what counters it. Every label carries
``1 / propensity`` of the action that produced it as its training weight.
Nightly, a candidate is trained on the arm's labels up to a time split and promoted
when its average precision on the newest labelled fifth beats the champion's.
"""

from __future__ import annotations

import copy
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import xgboost as xgb
from numpy.typing import NDArray

from friction.api.schemas import Payment
from friction.backtest.cases import case_of
from friction.backtest.replay import Case, FrictionReplay, Outcome
from friction.scoring.features import DAY, FEATURE_NAMES
from friction.scoring.model import Model
from friction.scoring.policy import in_eur
from friction.settings import Settings
from friction.simulation import SimConfig, simulate
from friction.training.dataset import LabelArrival, Replayer
from friction.training.metrics import average_precision

Arm = Literal["dialogue", "delayed"]
OnDay = Callable[["DayResult"], None]
MIN_FRAUDS = 10
"""Frauds needed on each side of the nightly split for a candidate to be judged at all."""


@dataclass
class LoopOptions:
    """A loop run: the simulated world, its length, and what each night trains."""

    days: int = 14
    warmup_days: int = 7
    customers: int = 2000
    seed: int = 7
    rounds: int = 150
    label_delay_days: float = 7.0
    fraud_rate: float = 1.0
    """Multiplier on the simulator's fraud incidence (small test worlds need more fraud)."""
    arms: tuple[Arm, ...] = ("dialogue", "delayed")
    promote: Literal["if-better", "always"] = "if-better"
    """Nightly promotion rule; ``always`` serves every candidate (tests of learning itself)."""
    hidden_scenario: str | None = None
    """Labelled genuine in the warm-up history: a fraud the initial model never learned."""


@dataclass(frozen=True, slots=True)
class DayResult:
    """One arm's day: how the served model ranked the day and what the policy stopped."""

    arm: str
    day: int
    payments: int
    ap: float
    frauds: int
    fraud_stopped: int
    fraud_value: float
    fraud_value_stopped: float
    challenges: int
    labels: int
    model_version: str
    promoted: bool
    recall_by_scenario: dict[str, float]
    """Share of each fraud scenario's payments that were stopped."""
    score_by_scenario: dict[str, float]
    """Mean score the served model gave each fraud scenario: what the model has learned."""


def fit_model(
    X: NDArray[np.float64], y: NDArray[np.int8], weight: NDArray[np.float64],
    rounds: int, version: str, seed: int = 0,
) -> Model:  # fmt: skip
    """A weighted XGBoost model as the served ``Model`` (no early stopping: nightly, small)."""
    params: dict[str, Any] = {
        "objective": "binary:logistic", "eval_metric": "aucpr", "max_depth": 5, "eta": 0.1,
        "subsample": 0.9, "colsample_bytree": 0.9, "min_child_weight": 2,
        "tree_method": "hist", "base_score": 0.5, "seed": seed, "nthread": 2,
    }  # fmt: skip
    data = xgb.DMatrix(X, label=y, weight=weight, feature_names=list(FEATURE_NAMES))
    booster = xgb.train(params, data, rounds, verbose_eval=False)
    return Model.from_booster(booster, version=version, feature_names=FEATURE_NAMES)


@dataclass
class _Row:
    payment: Payment
    case: Case
    scenario: str


@dataclass
class _ArmState:
    """One arm's feature state, label queue, labelled pool and champion."""

    name: Arm
    replayer: Replayer
    friction: FrictionReplay
    model: Model
    queue: list[tuple[float, int, int, bool, float]] = field(default_factory=list)
    labels: dict[int, tuple[bool, float, int]] = field(default_factory=dict)
    """Row -> (fraud, weight, loop day the label arrived; -1 for the warm-up history)."""
    seq: int = 0
    today: int = -1
    arrived: int = 0

    def push(self, due: float, row: int, fraud: bool, weight: float) -> None:
        """A label reaching this arm at ``due``."""
        self.seq += 1
        heapq.heappush(self.queue, (due, self.seq, row, fraud, weight))

    def arrive(self, now: float, rows: list[_Row]) -> int:
        """Deliver labels due by ``now`` to the feature state and the training pool."""
        count = 0
        while self.queue and self.queue[0][0] <= now:
            _, _, row, fraud, weight = heapq.heappop(self.queue)
            self.replayer.label(LabelArrival(rows[row].case.payment_id, fraud))
            self.labels[row] = (fraud, weight, self.today)
            count += 1
        self.arrived += count
        return count


def run_loop(
    options: LoopOptions, settings: Settings, on_day: OnDay | None = None
) -> list[DayResult]:
    """Simulate the warm-up and loop days; the per-day results of every arm."""
    config = SimConfig(
        seed=options.seed, days=options.warmup_days + options.days,
        customers=options.customers, fraud_rate=options.fraud_rate,
    )  # fmt: skip
    rows = [
        _Row(Payment.model_validate(line["payment"]), case_of(line), line["truth"]["scenario"])
        for line in simulate(config)
    ]
    start = rows[0].case.ts // DAY * DAY if rows else 0.0
    X = np.full((len(rows), len(FEATURE_NAMES)), np.nan)
    warm_end = start + options.warmup_days * DAY
    history = Replayer()
    first = 0
    while first < len(rows) and rows[first].case.ts < warm_end:
        X[first] = history.payment(rows[first].payment)
        first += 1
    seen = [_seen_fraud(r, options) for r in rows[:first]]
    initial = fit_model(
        X[:first], np.array(seen, dtype=np.int8), np.ones(first), options.rounds,
        "warmup", options.seed,
    )  # fmt: skip
    results: list[DayResult] = []
    for name in options.arms:
        arm = _ArmState(name, copy.deepcopy(history), FrictionReplay(settings), initial)
        for i, fraud in enumerate(seen):  # known to training; feature state gets them late
            arm.labels[i] = (fraud, 1.0, -1)
            arm.push(rows[i].case.ts + options.label_delay_days * DAY, i, fraud, 1.0)
        position = first
        for day in range(options.days):
            day_start = start + (options.warmup_days + day) * DAY
            result = _run_day(arm, rows, X, position, day_start, options, day)
            position += result.payments
            results.append(result)
            if on_day is not None:
                on_day(result)
    return results


def _seen_fraud(row: _Row, options: LoopOptions) -> bool:
    """The label history gives a payment: truth, except the hidden scenario reads genuine."""
    return row.case.fraud and row.scenario != options.hidden_scenario


def _run_day(
    arm: _ArmState, rows: list[_Row], X: NDArray[np.float64], first: int,
    day_start: float, options: LoopOptions, day: int,
) -> DayResult:  # fmt: skip
    """One day of one arm: serve every payment, then retrain at midnight."""
    end = day_start + DAY
    served: list[tuple[_Row, float, Outcome]] = []
    before = arm.arrived
    arm.today = day
    i = first
    while i < len(rows) and rows[i].case.ts < end:
        score, outcome = _serve(arm, rows, X, i, options)
        served.append((rows[i], score, outcome))
        i += 1
    arm.arrive(end, rows)
    version, promoted = arm.model.version, _nightly(arm, X, rows, options, day)
    settings = arm.friction.settings
    return _day_result(arm.name, day, served, arm.arrived - before, version, promoted, settings)


def _serve(
    arm: _ArmState, rows: list[_Row], X: NDArray[np.float64], i: int, options: LoopOptions
) -> tuple[float, Outcome]:
    """One payment: labels due arrive, features, score, decision, the labels it will yield."""
    row = rows[i]
    ts = row.case.ts
    arm.arrive(ts, rows)
    X[i] = arm.replayer.payment(row.payment)
    score = arm.model.predict(X[i])
    outcome = arm.friction.step(row.case, score)
    weight = 1.0 / outcome.propensity
    if arm.name == "dialogue" and outcome.label is not None:
        arm.push(ts + (outcome.label_delay_s or 0.0), i, outcome.label, weight)
    if not outcome.blocked:  # a chargeback, or no complaint: the label matures
        arm.push(ts + options.label_delay_days * DAY, i, row.case.fraud, weight)
    return score, outcome


def _nightly(
    arm: _ArmState, X: NDArray[np.float64], rows: list[_Row], options: LoopOptions, day: int
) -> bool:
    """Train on the labels before today, judge on today's: promote the candidate if better."""
    old = [r for r, label in arm.labels.items() if label[2] < day]
    new = [r for r, label in arm.labels.items() if label[2] == day]
    y_old = np.array([arm.labels[r][0] for r in old], dtype=np.int8)
    y_new = np.array([arm.labels[r][0] for r in new], dtype=np.int8)
    if y_old.sum() < MIN_FRAUDS or y_new.sum() < 1 or y_new.sum() == len(y_new):
        return False
    weight = np.array([arm.labels[r][1] for r in old])
    candidate = fit_model(X[old], y_old, weight, options.rounds,
                          f"{arm.name}-day{day + 1}", options.seed)  # fmt: skip
    mine = average_precision(y_new, candidate.predict_batch(X[new]))
    theirs = average_precision(y_new, arm.model.predict_batch(X[new]))
    if mine > theirs or options.promote == "always":
        arm.model = candidate
        return True
    return False


def _day_result(
    arm: str, day: int, served: list[tuple[_Row, float, Outcome]], labels: int,
    version: str, promoted: bool, settings: Settings,
) -> DayResult:  # fmt: skip
    """The day's figures: the served model's AP on the truth, fraud stopped, recall by scenario."""
    fraud = np.array([r.case.fraud for r, _, _ in served], dtype=np.int8)
    scores = np.array([s for _, s, _ in served])
    value = [in_eur(settings, r.case.amount_minor, r.case.currency) / 100 for r, _, _ in served]
    stopped = [o.blocked for _, _, o in served]
    by: dict[str, list[bool]] = {}
    scored: dict[str, list[float]] = {}
    for row, score, outcome in served:
        if row.case.fraud:
            by.setdefault(row.scenario, []).append(outcome.blocked)
            scored.setdefault(row.scenario, []).append(score)
    return DayResult(
        arm=arm, day=day + 1, payments=len(served),
        ap=average_precision(fraud, scores) if fraud.sum() else float("nan"),
        frauds=int(fraud.sum()),
        fraud_stopped=sum(1 for f, s in zip(fraud, stopped, strict=True) if f and s),
        fraud_value=round(sum(v for v, f in zip(value, fraud, strict=True) if f), 2),
        fraud_value_stopped=round(
            sum(v for v, f, s in zip(value, fraud, stopped, strict=True) if f and s), 2
        ),
        challenges=sum(1 for _, _, o in served if o.decision == "challenge"),
        labels=labels, model_version=version, promoted=promoted,
        recall_by_scenario={k: sum(v) / len(v) for k, v in sorted(by.items())},
        score_by_scenario={k: float(np.mean(v)) for k, v in sorted(scored.items())},
    )  # fmt: skip
