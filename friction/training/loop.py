"""The learning loop, simulated: score → decide → customers answer → labels → nightly retrain.

Each *arm* runs its own closed loop over the same simulated payments, with its own
feature state, policy state and champion model, under the same policy:

- ``dialogue``: customers' answers and analysts' verdicts become labels (and
  terminal/merchant feature state) minutes after the payment; chargebacks and
  "no complaint after 7 days" add matured labels later and may overturn an answer.
  An unanswered dialogue gives no label of its own (silence is not truth).
- ``delayed``: only the matured, 7-day-late labels, as a bank without dialogues has.

Both start from the same model, trained on a week's warm-up history, and the world
changes under them: ``emerging_scenario`` is a fraud pattern that only starts on the
first loop day, so the initial model has never seen it — the case where fast labels
matter. A payment that was blocked never matures into a label (nobody lost money): the
loop has the selection bias a real one has, and exploration is what counters it. Every
label carries ``1 / propensity`` of the action that produced it as its training weight.
Nightly, ``loop_nightly`` trains a candidate and promotes it if it beats the champion on
labels neither has seen.
"""

from __future__ import annotations

import copy
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from friction.domain.facts import DAY
from friction.domain.payment import Payment
from friction.offline.cases import case_of
from friction.offline.dataset import LabelArrival, Replayer
from friction.offline.metrics import average_precision
from friction.offline.policy_replay import Case, FrictionReplay, Outcome
from friction.scoring.features import FEATURE_NAMES
from friction.scoring.model import Model
from friction.scoring.policy import in_eur
from friction.settings import Settings
from friction.simulation import SimConfig, simulate
from friction.training.loop_nightly import Gate, Label, Night, nightly

Arm = Literal["dialogue", "delayed"]
OnDay = Callable[["DayResult"], None]


@dataclass
class LoopOptions:
    """A loop run: the simulated world, its length, and what each night trains."""

    days: int = 10
    warmup_days: int = 7
    """History before the loop: the initial model's training data and the features' memory."""
    customers: int = 600
    seed: int = 7
    label_delay_days: float = 7.0
    fraud_rate: float = 3.0
    """Multiplier on the simulator's fraud incidence (≈1 %): enough fraud per day to learn from."""
    arms: tuple[Arm, ...] = ("dialogue", "delayed")
    gate: Gate = field(default_factory=Gate)
    emerging_scenario: str | None = "account_takeover"
    """A fraud pattern absent from the warm-up history: it starts on the first loop day."""
    hidden_scenario: str | None = None
    """Labelled genuine in the warm-up history: a fraud the initial model learned to ignore."""


@dataclass(frozen=True, slots=True)
class DayResult:
    """One arm's day: how the served model ranked it, what the policy stopped, what it learned."""

    arm: str
    day: int
    payments: int
    ap: float
    """Average precision of the served model on all the day's payments, against the truth."""
    frauds: int
    fraud_stopped: int
    fraud_value: float
    fraud_value_stopped: float
    challenges: int
    labels: int
    """Labels that reached the arm's training pool this day."""
    labelled: int
    """Labels of loop days the arm can train on by the day's end (the warm-up not counted)."""
    fraud_labels: int
    model_version: str
    night: Night
    """The retrain after the day; ``night.promoted``: tomorrow's model is new."""
    recall_by_scenario: dict[str, float]
    """Share of each fraud scenario's payments that were stopped."""
    score_by_scenario: dict[str, float]
    """Mean score the served model gave each fraud scenario: what the model has learned."""


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
    X: NDArray[np.float64]
    labels: dict[int, Label]
    queue: list[tuple[float, int, int, bool, float, bool]] = field(default_factory=list)
    """(due, sequence, row, fraud, weight, for training) — a heap."""
    seq: int = 0
    trained_through: int = -1
    """Newest label day the champion was trained on."""
    today: int = -1
    arrived: int = 0

    def push(self, due: float, row: int, fraud: bool, weight: float, trains: bool = True) -> None:
        """A label reaching this arm at ``due`` (``trains``: also the training pool)."""
        self.seq += 1
        heapq.heappush(self.queue, (due, self.seq, row, fraud, weight, trains))

    def arrive(self, now: float, rows: list[_Row]) -> None:
        """Deliver labels due by ``now`` to the feature state and the training pool."""
        while self.queue and self.queue[0][0] <= now:
            _, _, row, fraud, weight, trains = heapq.heappop(self.queue)
            self.replayer.label(LabelArrival(rows[row].case.payment_id, fraud))
            if trains:
                self.labels[row] = Label(fraud, weight, self.today)
                self.arrived += 1


def run_loop(
    options: LoopOptions, settings: Settings, on_day: OnDay | None = None
) -> list[DayResult]:
    """Simulate the warm-up and loop days; the per-day results of every arm."""
    rows = _world(options)
    start = rows[0].case.ts // DAY * DAY if rows else 0.0
    warm_end = start + options.warmup_days * DAY
    X = np.full((len(rows), len(FEATURE_NAMES)), np.nan)
    history = Replayer()
    first = 0
    while first < len(rows) and rows[first].case.ts < warm_end:
        X[first] = history.payment(rows[first].payment)
        first += 1
    seen = [_seen_fraud(r, options) for r in rows[:first]]
    y = np.array(seen, dtype=np.int8)
    initial = options.gate.fit(X[:first], y, np.ones(first), "warmup")
    results: list[DayResult] = []
    for name in options.arms:
        pool = {i: Label(fraud, 1.0, -1) for i, fraud in enumerate(seen)}
        arm = _ArmState(
            name, copy.deepcopy(history), FrictionReplay(settings), initial, X.copy(), pool
        )
        for i, fraud in enumerate(seen):  # the model knows them; the feature state, 7 days on
            arm.push(rows[i].case.ts + options.label_delay_days * DAY, i, fraud, 1.0, False)
        position = first
        for day in range(options.days):
            day_start = start + (options.warmup_days + day) * DAY
            result = _run_day(arm, rows, position, day_start, options, day)
            position += result.payments
            results.append(result)
            if on_day is not None:
                on_day(result)
    return results


def _world(options: LoopOptions) -> list[_Row]:
    """The simulated payments; the emerging scenario's only from the first loop day on."""
    config = SimConfig(
        seed=options.seed, days=options.warmup_days + options.days,
        customers=options.customers, fraud_rate=options.fraud_rate,
    )  # fmt: skip
    rows = [
        _Row(Payment.model_validate(line["payment"]), case_of(line), line["truth"]["scenario"])
        for line in simulate(config)
    ]
    if not rows:
        return rows
    warm_end = rows[0].case.ts // DAY * DAY + options.warmup_days * DAY
    return [r for r in rows if r.scenario != options.emerging_scenario or r.case.ts >= warm_end]


def _seen_fraud(row: _Row, options: LoopOptions) -> bool:
    """The label history gives a payment: truth, except the hidden scenario reads genuine."""
    return row.case.fraud and row.scenario != options.hidden_scenario


def _run_day(
    arm: _ArmState, rows: list[_Row], first: int, day_start: float,
    options: LoopOptions, day: int,
) -> DayResult:  # fmt: skip
    """One day of one arm: serve every payment, then retrain at midnight."""
    end = day_start + DAY
    served: list[tuple[_Row, float, Outcome]] = []
    before = arm.arrived
    arm.today = day
    i = first
    while i < len(rows) and rows[i].case.ts < end:
        score, outcome = _serve(arm, rows, i, options)
        served.append((rows[i], score, outcome))
        i += 1
    arm.arrive(end, rows)
    version = arm.model.version
    candidate, night = nightly(
        arm.labels, arm.X, arm.model, arm.trained_through, day, options.gate,
        f"{arm.name}-day{day + 1}",
    )  # fmt: skip
    if candidate is not None:
        arm.model, arm.trained_through = candidate, day - options.gate.holdout_days
    loop_labels = [label for label in arm.labels.values() if label.day >= 0]
    return _day_result(
        arm.name, day, served, arm.friction.settings, version, night,
        (arm.arrived - before, len(loop_labels), sum(label.fraud for label in loop_labels)),
    )  # fmt: skip


def _serve(arm: _ArmState, rows: list[_Row], i: int, options: LoopOptions) -> tuple[float, Outcome]:
    """One payment: labels due arrive, features, score, decision, the labels it will yield."""
    row = rows[i]
    ts = row.case.ts
    arm.arrive(ts, rows)
    arm.X[i] = arm.replayer.payment(row.payment)
    score = arm.model.predict(arm.X[i])
    outcome = arm.friction.step(row.case, score)
    weight = 1.0 / outcome.propensity
    if arm.name == "dialogue" and outcome.label is not None:
        arm.push(ts + (outcome.label_delay_s or 0.0), i, outcome.label, weight)
    if not outcome.blocked:  # a chargeback, or no complaint: the label matures
        arm.push(ts + options.label_delay_days * DAY, i, row.case.fraud, weight)
    return score, outcome


def _day_result(
    arm: str, day: int, served: list[tuple[_Row, float, Outcome]], settings: Settings,
    version: str, night: Night, counts: tuple[int, int, int],
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
        labels=counts[0], labelled=counts[1], fraud_labels=counts[2],
        model_version=version, night=night,
        recall_by_scenario={k: sum(v) / len(v) for k, v in sorted(by.items())},
        score_by_scenario={k: float(np.mean(v)) for k, v in sorted(scored.items())},
    )  # fmt: skip
