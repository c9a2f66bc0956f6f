"""Smart friction: expected loss against the cost of friction, trust, quiet wins, exploration."""

from __future__ import annotations

import pytest

from friction.scoring.policy import (
    BEYOND_ANSWER,
    EXPLORED,
    QUIET_WIN,
    TRUSTED,
    Answers,
    PolicyFit,
    PolicyInput,
    choose,
    explore_draw,
)
from friction.settings import Settings

BASE = {
    "challenge_at": 0.3,
    "decline_at": 0.9,
    "friction_budget": 3,
    "explore_share": 0.0,
    "challenge_loss_minor": 0,
}


def settings(**overrides: object) -> Settings:
    return Settings(**{**BASE, **overrides})  # type: ignore[arg-type]


def ask(score: float, amount: int, **kw: object) -> PolicyInput:
    return PolicyInput(score, amount, kw.pop("used", 0), True, **kw)  # type: ignore[arg-type]


def test_small_risky_payment_is_a_quiet_win_and_a_large_one_is_asked() -> None:
    policy = settings(friction_cost_minor=1000)
    small = choose(policy, ask(0.5, 800, payment_id="a"))
    large = choose(policy, ask(0.5, 50_000, payment_id="b"))
    assert (small.decision, small.reasons) == ("allow", [QUIET_WIN])
    assert large.decision == "challenge"
    assert large.expected_loss == pytest.approx(25_000)


def test_loss_floor_keeps_small_sums_quiet_even_when_friction_is_free() -> None:
    policy = settings(friction_cost_minor=0, loss_floor_minor=1000)
    assert choose(policy, ask(0.6, 1000)).reasons == [QUIET_WIN]
    assert choose(policy, ask(0.6, 5000)).decision == "challenge"


def test_big_expected_loss_is_asked_below_the_score_threshold() -> None:
    policy = settings(friction_cost_minor=100, challenge_loss_minor=10_000)
    assert choose(policy, ask(0.1, 200_000)).decision == "challenge"
    assert choose(policy, ask(0.1, 20_000)).decision == "allow"


def test_friction_costs_more_per_channel_and_per_recent_challenge() -> None:
    policy = settings(
        friction_cost_minor=1000, friction_cost_by_channel={"pos": 5.0}, friction_cost_growth=2.0
    )
    assert choose(policy, ask(0.5, 4000, channel="ecom")).decision == "challenge"
    assert choose(policy, ask(0.5, 4000, channel="pos")).reasons == [QUIET_WIN]
    assert choose(policy, ask(0.5, 4000, channel="ecom", used=2)).reasons == [QUIET_WIN]


def test_expected_loss_is_compared_in_eur() -> None:
    policy = settings(friction_cost_minor=4000, loss_currency_rates={"AED": 0.25})
    assert choose(policy, ask(0.5, 6000, currency="EUR")).decision == "challenge"
    assert choose(policy, ask(0.5, 6000, currency="AED")).decision == "allow"


def test_a_confirmed_payee_is_trusted_but_not_past_decline() -> None:
    policy = settings(friction_cost_minor=0)
    assert choose(policy, ask(0.5, 9000, trusted=True)).reasons == [TRUSTED]
    assert choose(policy, ask(0.95, 9000, trusted=True)).decision == "decline"


def test_exploration_is_deterministic_per_payment_and_records_propensity() -> None:
    policy = settings(explore_share=0.1)
    actions = [choose(policy, ask(0.01, 1000, payment_id=f"pay_{n}")) for n in range(4000)]
    explored = [a for a in actions if a.explored]
    assert 0.08 < len(explored) / len(actions) < 0.12
    assert all(a.decision == "challenge" and a.reasons == [EXPLORED] for a in explored)
    assert all(a.propensity == pytest.approx(0.1) for a in explored)
    assert all(a.propensity == pytest.approx(0.9) for a in actions if not a.explored)
    retried = [choose(policy, ask(0.01, 1000, payment_id=f"pay_{n}")) for n in range(4000)]
    assert retried == actions
    assert explore_draw("pay_0") == explore_draw("pay_0") != explore_draw("pay_1")


def test_exploration_never_spends_past_the_budget_or_asks_the_unreachable() -> None:
    policy = settings(explore_share=0.5, friction_budget=1)
    ids = [f"p{n}" for n in range(200)]
    assert not any(choose(policy, ask(0.01, 1000, payment_id=i, used=1)).explored for i in ids)
    unreachable = [choose(policy, PolicyInput(0.01, 1000, 0, False, payment_id=i)) for i in ids]
    assert {a.decision for a in unreachable} == {"allow"}


def test_zero_challenge_threshold_still_challenges_everything_below_decline() -> None:
    policy = settings(challenge_at=0.0, friction_cost_minor=10**6, loss_floor_minor=10**6)
    assert choose(policy, ask(0.0, 1)).decision == "challenge"
    assert choose(policy, ask(0.95, 1)).decision == "decline"


def test_a_score_no_answer_could_clear_is_declined_below_the_ceiling() -> None:
    policy = settings(decline_at=1.0, friction_cost_minor=2000, decline_cost_minor=5000)
    sure = choose(policy, ask(0.995, 200_000))
    assert (sure.decision, sure.reasons) == ("decline", [BEYOND_ANSWER])
    assert sure.costs is not None and sure.costs.decline < sure.costs.challenge
    # the same score on a small sum: a question costs less than refusing a good customer
    assert choose(policy, ask(0.8, 3000)).decision == "challenge"


def test_a_channel_whose_questions_leak_more_is_declined_sooner() -> None:
    policy = settings(decline_at=1.0)
    leaky = PolicyFit(answers={"transfer": Answers(leak=0.5, miss=0.14)})
    payment = ask(0.8, 100_000, channel="transfer")
    assert choose(policy, payment).decision == "challenge"
    assert choose(policy, payment, leaky).decision == "decline"


def test_the_fitted_calibration_and_question_price_are_applied() -> None:
    policy = settings(friction_cost_minor=1000)
    payment = ask(0.5, 10_000)
    assert choose(policy, payment).decision == "challenge"
    humbled = PolicyFit(intercept=-4.0)  # scores overstate fraud: 0.5 means ~2 %
    assert choose(policy, payment, humbled).reasons == [QUIET_WIN]
    priced = PolicyFit(question_price_minor=10_000)
    assert choose(policy, payment, priced).reasons == [QUIET_WIN]
    assert PolicyFit().probability(0.3) == 0.3
    assert humbled.probability(1.0) < 1.0 and humbled.probability(0.0) > 0.0


def test_every_weighed_action_records_the_costs_a_rule_could_overrule() -> None:
    action = choose(settings(), ask(0.5, 50_000))
    assert action.costs is not None
    best = min(action.costs.allow, action.costs.challenge, action.costs.decline)
    assert action.decision == "challenge" and action.costs.challenge == best


def test_silence_goes_to_a_person_when_a_review_costs_less_than_refusing_a_good_customer() -> None:
    policy = settings(decline_at=1.0)
    likely_genuine = choose(policy, ask(0.4, 50_000))  # refusing costs (1 − p) × 300 EUR
    assert (likely_genuine.decision, likely_genuine.on_silence) == ("challenge", "review")
    dear_reviews = settings(decline_at=1.0, review_cost_minor=100_000)
    assert choose(dear_reviews, ask(0.4, 50_000)).on_silence == "blocked"
    priced = PolicyFit(review_price_minor=100_000)  # the analysts' capacity is spent
    assert choose(policy, ask(0.4, 50_000), priced).on_silence == "blocked"
    for fixed in ("blocked", "review", "released"):
        assert choose(settings(no_answer_verdict=fixed), ask(0.4, 50_000)).on_silence == fixed


def test_a_question_whose_silence_is_reviewed_costs_less_than_one_whose_silence_blocks() -> None:
    payment = ask(0.8, 20_000)
    weighed = choose(settings(decline_at=1.0), payment)
    blocking = choose(settings(decline_at=1.0, no_answer_verdict="blocked"), payment)
    assert weighed.costs is not None and blocking.costs is not None
    assert weighed.costs.challenge < blocking.costs.challenge
    assert blocking.costs.decline == weighed.costs.decline
