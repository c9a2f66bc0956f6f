"""The learning loop on a small simulated world: it learns, and exploration beats selection bias."""

from __future__ import annotations

import pytest

from friction.settings import Settings
from friction.training.loop import DayResult, LoopOptions, run_loop

HIDDEN = "card_testing"


def small(**kw: object) -> LoopOptions:
    values: dict[str, object] = {"days": 3, "warmup_days": 5, "customers": 300, "rounds": 40,
                                 "fraud_rate": 8.0, "seed": 3}  # fmt: skip
    return LoopOptions(**{**values, **kw})  # type: ignore[arg-type]


def policy(explore: float) -> Settings:
    return Settings(
        challenge_at=0.3,
        decline_at=0.97,
        friction_cost_minor=0,
        challenge_loss_minor=0,
        friction_budget=1000,
        explore_share=explore,
    )


@pytest.mark.timeout(60)
def test_dialogue_labels_arrive_days_before_delayed_ones() -> None:
    results = run_loop(small(), policy(0.01))
    dialogue = [r for r in results if r.arm == "dialogue"]
    delayed = [r for r in results if r.arm == "delayed"]
    assert [r.day for r in dialogue] == [1, 2, 3] == [r.day for r in delayed]
    assert sum(r.labels for r in dialogue) > 0
    assert sum(r.labels for r in dialogue) > sum(r.labels for r in delayed)
    assert all(r.frauds >= r.fraud_stopped for r in results)


def hidden_score(results: list[DayResult]) -> float:
    return results[-1].score_by_scenario.get(HIDDEN, 0.0)


@pytest.mark.timeout(60)
def test_exploration_learns_a_scenario_the_initial_model_never_challenges() -> None:
    # promote="always": the test is about what retraining learns, not the promotion gate
    options = small(arms=("dialogue",), hidden_scenario=HIDDEN, promote="always")
    without = run_loop(options, policy(0.0))
    explored = run_loop(options, policy(0.3))
    assert without[0].score_by_scenario[HIDDEN] < 0.05  # the initial model never asks
    assert hidden_score(without) < 0.1  # no exploration: no label, nothing learned
    assert hidden_score(explored) > max(0.2, 3 * hidden_score(without))
