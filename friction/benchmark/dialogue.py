"""Dialogue labels over the handbook stream: which payments are asked, and when labels arrive.

The protocol's labels all arrive 7 days late. With friction, a challenged
customer answers within minutes (or an analyst within hours): that label
reaches the terminal's feature state at once, everything else still a week
late. Which payments are challenged is the service's own smart-friction policy
(``friction.scoring.policy.choose`` through the backtest's ``FrictionReplay``,
with the backtest's documented customer-answer model for the handbook stream).

The policy needs scores as it goes. They come from a *weekly* model: each week
is scored by a model trained on the week that ended 7 days earlier (its labels
matured), on the protocol's delayed-label features. That is cheaper than a
closed loop and conservative: the scorer itself never benefits from the quick
labels, only the benchmark's fold models do.

*Discovery* spends part of each customer's friction budget on payments the
policy would allow, at terminals with no dialogue label within ``quiet_days``:
a terminal compromised inside the label delay is otherwise invisible for a week.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from friction.benchmark.protocol import TRAIN_DAYS
from friction.offline.booster import THREADS, BoosterSpec, fit
from friction.offline.cases import handbook_cases
from friction.offline.feature_cache import LabelSchedule
from friction.offline.handbook_stream import DAY_SECONDS, DELAY_DAYS, F64, Stream
from friction.offline.policy_replay import FrictionReplay, Outcome
from friction.scoring.policy import explore_draw
from friction.settings import Settings

SCORER = BoosterSpec(
    params={
        "objective": "binary:logistic",
        "eta": 0.1,
        "max_depth": 4,
        "min_child_weight": 1.0,
        "subsample": 0.9,
        "colsample_bytree": 0.8,
        "tree_method": "hist",
        "max_bin": 16_384,
        "base_score": 0.5,
        "nthread": THREADS,
        "seed": 0,
    },
    rounds=150,
)
"""The weekly scorer: a short fixed recipe (no early stopping), kept apart from ``FRICTION``
so that tuning the benchmarked model does not change who was challenged."""


@dataclass(frozen=True, slots=True)
class Discovery:
    """Challenge an allowed payment with probability ``share`` when its terminal is unverified."""

    share: float
    quiet_days: float


@dataclass(frozen=True, slots=True)
class Spent:
    """The friction a label schedule cost, over the days with a served model."""

    payments: int
    challenges: int
    discovery_challenges: int
    genuine_challenged: int
    quick_labels: int
    quick_frauds: int

    def as_dict(self) -> dict[str, float]:
        """Counts, plus the rates a reader compares: per 1,000 payments and per genuine one."""
        per = 1000.0 / max(1, self.payments)
        return {
            "payments": self.payments,
            "challenges": self.challenges,
            "discovery_challenges": self.discovery_challenges,
            "challenges_per_1000": round(self.challenges * per, 2),
            "genuine_challenged": self.genuine_challenged,
            "quick_labels": self.quick_labels,
            "quick_frauds": self.quick_frauds,
        }


def weekly_scores(stream: Stream, features: F64, spec: BoosterSpec = SCORER) -> F64:
    """Each week scored by a model of the week that ended ``DELAY_DAYS`` before it (0 before)."""
    day, y = stream.day, stream.fraud
    scores = np.zeros(len(stream), dtype=np.float64)
    first, last = int(day.min()), int(day.max())
    for start in range(first + TRAIN_DAYS + DELAY_DAYS, last + 1, 7):
        train = (day >= start - TRAIN_DAYS - DELAY_DAYS) & (day < start - DELAY_DAYS)
        served = (day >= start) & (day < start + 7)
        if y[train].sum() == 0 or not served.any():
            continue
        booster = fit(spec, features[train], y[train], stream.ts[train])
        scores[served] = booster.inplace_predict(features[served])
    return scores


def dialogue_labels(
    stream: Stream, scores: F64, settings: Settings, discovery: Discovery | None = None
) -> tuple[LabelSchedule, Spent]:
    """The label schedule a policy's challenges produce, and what it spent to get it."""
    cases = handbook_cases(stream.ts, stream.customer, stream.terminal, stream.amount, stream.fraud)
    replay = FrictionReplay(settings)
    arrival = (stream.ts + DELAY_DAYS * DAY_SECONDS).astype(np.float64)
    label = stream.fraud.copy()
    last_label: dict[int, float] = {}  # terminal -> time of its latest dialogue label
    served = scores > 0
    counts = dict.fromkeys(("challenges", "discovery", "genuine", "quick", "quick_frauds"), 0)
    for i, (case, score, terminal) in enumerate(
        zip(cases, scores.tolist(), stream.terminal.tolist(), strict=True)
    ):
        if not served[i]:
            continue
        outcome = replay.step(case, score)
        if discovery is not None and outcome.decision == "allow":
            quiet = case.ts - last_label.get(terminal, -np.inf) > discovery.quiet_days * DAY_SECONDS
            if quiet and _discovers(replay, case.payment_id, case.customer, case.ts, discovery):
                outcome = replay.challenge(case, discovery.share, explored=True)
                counts["discovery"] += 1
        _count(counts, outcome, case.fraud)
        if outcome.label is not None and outcome.label_delay_s is not None:
            arrival[i] = case.ts + outcome.label_delay_s
            label[i] = int(outcome.label)
            last_label[terminal] = case.ts
    spent = Spent(
        payments=int(served.sum()),
        challenges=counts["challenges"],
        discovery_challenges=counts["discovery"],
        genuine_challenged=counts["genuine"],
        quick_labels=counts["quick"],
        quick_frauds=counts["quick_frauds"],
    )
    return LabelSchedule(arrival, label), spent


def _discovers(
    replay: FrictionReplay, payment_id: str, customer: str, ts: float, discovery: Discovery
) -> bool:
    """A seeded draw (its own hash, independent of exploration's) and budget left."""
    if explore_draw(f"discover:{payment_id}") >= discovery.share:
        return False
    return replay.recent_challenges(customer, ts) < replay.settings.friction_budget


def _count(counts: dict[str, int], outcome: Outcome, fraud: bool) -> None:
    if outcome.decision == "challenge":
        counts["challenges"] += 1
        counts["genuine"] += int(not fraud)
    if outcome.label is not None and outcome.label_delay_s is not None:
        counts["quick"] += 1
        counts["quick_frauds"] += int(outcome.label)
