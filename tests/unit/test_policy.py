"""Policy thresholds, budget and reachability."""

from __future__ import annotations

import pytest

from friction.scoring.policy import BUDGET_SPENT, NO_CHANNEL, PolicyInput, decide
from friction.settings import Settings


@pytest.mark.parametrize(
    ("score", "used", "reachable", "expected"),
    [
        (0.05, 0, True, "allow"),
        (0.5, 0, True, "challenge"),
        (0.5, 3, True, "review"),
        (0.5, 0, False, "review"),
        (0.95, 0, True, "decline"),
    ],
)
def test_decisions(score: float, used: int, reachable: bool, expected: str) -> None:
    settings = Settings(
        challenge_at=0.3, decline_at=0.9, friction_budget=3, friction_cost_minor=0, explore_share=0
    )
    decision, _ = decide(settings, PolicyInput(score, 1000, used, reachable))
    assert decision == expected


def test_policy_reasons_explain_a_review() -> None:
    settings = Settings(challenge_at=0.3, friction_budget=1, friction_cost_minor=0)
    assert decide(settings, PolicyInput(0.5, 10_000, 1, True))[1] == [BUDGET_SPENT]
    assert decide(settings, PolicyInput(0.5, 10_000, 0, False))[1] == [NO_CHANNEL]


def test_zero_challenge_threshold_challenges_everything_below_decline() -> None:
    settings = Settings(challenge_at=0.0)
    assert decide(settings, PolicyInput(0.0, 1, 0, True))[0] == "challenge"


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="challenge_at"):
        Settings(challenge_at=0.95, decline_at=0.9)
