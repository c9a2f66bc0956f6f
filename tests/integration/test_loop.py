"""The learning loop on a small simulated world: it learns, and exploration beats selection bias."""

from __future__ import annotations

import pytest

from friction.settings import Settings
from friction.training.loop import DayResult, LoopOptions, run_loop
from friction.training.loop_nightly import Gate

HIDDEN = "card_testing"


def small(**kw: object) -> LoopOptions:
    values: dict[str, object] = {"days": 3, "warmup_days": 5, "customers": 300, "fraud_rate": 8.0,
                                 "seed": 3, "gate": Gate(rounds=40, seed=3)}  # fmt: skip
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


def arm(results: list[DayResult], name: str) -> list[DayResult]:
    return [r for r in results if r.arm == name]


@pytest.mark.timeout(240)
def test_the_dialogue_fed_arm_learns_faster_than_the_delayed_one() -> None:
    # the default world (`friction loop`): small worlds are too noisy to tell the arms apart
    results = run_loop(LoopOptions(), Settings())
    dialogue, delayed = arm(results, "dialogue"), arm(results, "delayed")
    assert dialogue[0].ap == delayed[0].ap  # same payments, same initial model
    assert sum(r.labelled for r in delayed[:7]) == 0  # 7-day-late labels: nothing yet
    assert not any(r.night.promoted for r in delayed[:7])
    assert any(r.night.promoted for r in dialogue[:7])

    def caught(days: list[DayResult]) -> int:
        return sum(r.fraud_stopped for r in days)

    def late_ap(days: list[DayResult]) -> float:
        return sum(r.ap for r in days[-3:]) / 3

    assert caught(dialogue) >= 1.4 * caught(delayed) > 0
    assert late_ap(dialogue) > late_ap(delayed) + 0.05


@pytest.mark.timeout(60)
def test_the_gate_judges_candidates_on_labels_neither_model_has_seen() -> None:
    results = run_loop(small(arms=("dialogue",)), policy(0.01))
    nights = [r.night for r in results]
    assert not nights[0].trained  # day 1's labels are the hold-out: nothing new to train on
    judged = [n for n in nights if n.trained]
    assert judged and all(n.holdout_frauds >= 3 for n in judged)
    assert all(n.promoted == (n.candidate_ap > n.champion_ap) for n in judged)


def hidden_score(results: list[DayResult]) -> float:
    """Mean score of the hidden scenario's frauds over the last two days (one day's few are
    noisy)."""
    return sum(r.score_by_scenario.get(HIDDEN, 0.0) for r in results[-2:]) / 2


@pytest.mark.timeout(60)
def test_exploration_learns_a_scenario_the_initial_model_never_challenges() -> None:
    """Over seeds 3-8 of this world the explored score ended at 0.11-0.84, the unexplored
    one at 0.017 or less: the bars below hold for every one of them."""
    # promote="always": the test is about what retraining learns, not the promotion gate
    options = small(
        days=4, customers=600, arms=("dialogue",), hidden_scenario=HIDDEN,
        emerging_scenario=None, gate=Gate(rounds=40, seed=3, promote="always"),
    )  # fmt: skip
    without = run_loop(options, policy(0.0))
    explored = run_loop(options, policy(0.3))
    assert without[0].score_by_scenario[HIDDEN] < 0.05  # the initial model never asks
    assert hidden_score(without) < 0.05  # no exploration: no label, nothing learned
    assert hidden_score(explored) > max(0.1, 5 * hidden_score(without))
