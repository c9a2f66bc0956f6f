"""How the customer would answer if friction asked: the truth a dialogue would reveal.

Genuine customers mostly confirm within minutes (log-normal delay) and some
never answer; victims of card fraud deny; a scam victim confirms, since they
did authorise the payment, unless asked the right scam question.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

SCAM_CHANNELS = frozenset({"transfer", "p2p"})


@dataclass(frozen=True, slots=True)
class Behaviour:
    """Answer probabilities (confirm, deny, none) and the log-normal delay of an answer."""

    confirm: float
    deny: float
    median_s: float
    sigma: float

    def answer(self, u: float) -> str:
        """The answer a uniform draw ``u`` selects."""
        if u < self.confirm:
            return "confirm"
        if u < self.confirm + self.deny:
            return "deny"
        return "none"


GENUINE = Behaviour(confirm=0.86, deny=0.01, median_s=75.0, sigma=1.0)
VICTIM = Behaviour(confirm=0.02, deny=0.90, median_s=50.0, sigma=0.9)
SCAM_VICTIM = Behaviour(confirm=0.92, deny=0.02, median_s=40.0, sigma=0.8)
# Asked "has anyone told you what to say?", most scam victims stop and deny.
SCAM_QUESTION = Behaviour(confirm=0.20, deny=0.75, median_s=60.0, sigma=0.9)


def behaviour_of(scenario: str) -> Behaviour:
    """The answer behaviour of the customer behind a payment of ``scenario``."""
    if scenario == "genuine":
        return GENUINE
    return SCAM_VICTIM if scenario == "app_scam" else VICTIM


def truths(rng: np.random.Generator, rows: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The ``truth`` object of each (scenario, channel) row, drawn in one vectorised pass."""
    n = len(rows)
    first, second = rng.random(n).tolist(), rng.random(n).tolist()
    spread = rng.standard_normal(n).tolist()
    out: list[dict[str, Any]] = []
    for i, (scenario, channel) in enumerate(rows):
        behaviour = behaviour_of(scenario)
        answer = behaviour.answer(first[i])
        delay = None
        if answer != "none":
            delay = round(behaviour.median_s * math.exp(behaviour.sigma * spread[i]), 1)
        scam_answer: str | None = None
        if channel in SCAM_CHANNELS:
            scam_answer = SCAM_QUESTION.answer(second[i]) if scenario == "app_scam" else answer
        out.append({
            "fraud": scenario != "genuine",
            "scenario": scenario,
            "answer": answer,
            "answer_delay_s": delay,
            "answer_if_scam_question": scam_answer,
        })  # fmt: skip
    return out
