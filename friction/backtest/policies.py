"""The policies a backtest compares, each turning scored cases into outcomes.

- ``allow_all``: no fraud check at all (the cost of doing nothing).
- ``smart_friction``: the service's own policy (``friction.scoring.policy.choose``)
  with budgets, trusted payees, quiet wins, exploration and customer answers.
- ``silent_block``: decline at a score threshold, asking nobody; the threshold is the
  highest one that stops at least a given fraud value, so that it is compared with
  smart friction at equal fraud value stopped.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from friction.offline.cases import Cases
from friction.offline.policy_replay import Adjust, FrictionReplay, Outcome
from friction.scoring.policy import DEFAULT_FIT, PolicyFit, in_eur
from friction.settings import Settings

Advance = Callable[[float], None]
ALLOWED = Outcome("allow", False)
BLOCKED = Outcome("decline", True)


def allow_all(cases: Cases) -> list[Outcome]:
    """Every payment allowed."""
    return [ALLOWED] * len(cases.cases)


def smart_friction(
    cases: Cases,
    settings: Settings,
    advance: Advance,
    fit: PolicyFit = DEFAULT_FIT,
    adjust: Adjust | None = None,
) -> list[Outcome]:
    """The service's policy over the stream, in time order, customers answering (with
    ``adjust`` layered over each action: an analyst's rule)."""
    replay = FrictionReplay(settings, fit, adjust)
    out: list[Outcome] = []
    for n, (case, score) in enumerate(zip(cases.cases, cases.scores.tolist(), strict=True)):
        out.append(replay.step(case, score))
        if n % 10_000 == 9_999:
            advance(10_000)
    advance(len(out) % 10_000)
    return out


def fraud_values(cases: Cases, settings: Settings) -> np.ndarray:
    """Each payment's value in EUR if it is fraud, else 0."""
    return np.array(
        [
            in_eur(settings, c.amount_minor, c.currency) / 100.0 if c.fraud else 0.0
            for c in cases.cases
        ]
    )


def block_threshold(cases: Cases, settings: Settings, target_value: float) -> float:
    """The highest score threshold whose silent block stops at least ``target_value`` EUR."""
    values = fraud_values(cases, settings)
    fraud = values > 0
    scores = cases.scores[fraud]
    if target_value <= 0 or not len(scores):
        return float("inf")
    order = np.argsort(-scores, kind="mergesort")
    stopped = np.cumsum(values[fraud][order])
    k = int(np.searchsorted(stopped, target_value - 1e-9))
    return float(scores[order][min(k, len(order) - 1)])


def silent_block(cases: Cases, threshold: float) -> list[Outcome]:
    """Decline every payment scored at or above ``threshold``."""
    return [BLOCKED if s >= threshold else ALLOWED for s in cases.scores.tolist()]
