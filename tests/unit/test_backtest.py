"""Backtest replay: budgets, trusted payees, answers, the matched silent-block threshold."""

from __future__ import annotations

import numpy as np
import pytest

from friction.backtest.policies import block_threshold, silent_block, smart_friction
from friction.backtest.report import summarise, verdict
from friction.offline.cases import Cases
from friction.offline.policy_replay import Case, FrictionReplay
from friction.settings import Settings

HOUR = 3600.0


def case(n: int, *, fraud: bool = False, answer: str = "confirm", delay: float | None = 60.0,
         customer: str = "c1", payee: str = "m1", amount: int = 50_000, hours: float = 0.0,
         channel: str = "ecom", scam: str | None = None) -> Case:  # fmt: skip
    return Case(f"p{n}", n + hours * HOUR, customer, payee, channel, amount, "EUR", fraud,
                answer, delay if answer != "none" else None, scam)  # fmt: skip


def policy(**kw: object) -> Settings:
    values: dict[str, object] = {"challenge_at": 0.3, "friction_cost_minor": 0,
                                 "explore_share": 0.0, "friction_budget": 2}  # fmt: skip
    return Settings(**{**values, **kw})  # type: ignore[arg-type]


def test_budget_sends_the_third_challenge_in_a_window_to_review() -> None:
    replay = FrictionReplay(policy())
    decisions = [replay.step(case(n, payee=f"m{n}"), 0.5).decision for n in range(3)]
    assert decisions == ["challenge", "challenge", "review"]
    later = case(9, payee="m9", hours=24 * 8)
    assert replay.step(later, 0.5).decision == "challenge"


def test_a_confirmed_payee_is_not_asked_again_within_the_trust_window() -> None:
    replay = FrictionReplay(policy(trusted_days=1))
    assert replay.step(case(0), 0.5).label is False
    assert replay.step(case(1, hours=2), 0.5).decision == "allow"
    assert replay.step(case(2, hours=30), 0.5).decision == "challenge"


def test_answers_count_only_within_the_ttl_and_no_answer_follows_the_verdict() -> None:
    replay = FrictionReplay(policy(dialogue_ttl_seconds=600, no_answer_verdict="blocked"))
    late = replay.step(case(0, answer="confirm", delay=900.0), 0.5)
    assert (late.answered, late.blocked, late.label) == (False, True, None)
    denied = replay.step(case(1, fraud=True, answer="deny", customer="c2"), 0.5)
    assert (denied.blocked, denied.label, denied.answer_delay_s) == (True, True, 60.0)


def test_transfers_get_the_scam_question() -> None:
    replay = FrictionReplay(policy())
    scam = case(0, fraud=True, answer="confirm", channel="transfer", scam="deny")
    assert replay.step(scam, 0.5).blocked


def cases_of(scores: list[float], fraud: list[bool], amounts: list[int]) -> Cases:
    rows = [case(n, fraud=f, amount=a, customer=f"c{n}", answer="deny" if f else "confirm")
            for n, (f, a) in enumerate(zip(fraud, amounts, strict=True))]  # fmt: skip
    return Cases(rows, np.array(scores), ["x"] * len(rows))


def test_silent_block_threshold_stops_at_least_the_target_value() -> None:
    cases = cases_of([0.9, 0.8, 0.6, 0.5, 0.2], [True, False, True, False, True],
                     [10_000, 5_000, 30_000, 5_000, 99_900])  # fmt: skip
    settings = policy()
    assert block_threshold(cases, settings, 100.0) == pytest.approx(0.9)
    assert block_threshold(cases, settings, 350.0) == pytest.approx(0.6)
    report = summarise("silent", cases, silent_block(cases, 0.6), settings, 0.6)
    assert (report.fraud_value_stopped, report.good_declined) == (400.0, 1)


def test_smart_friction_report_on_a_tiny_stream() -> None:
    cases = cases_of([0.5, 0.5, 0.1, 0.95], [True, False, False, True],
                     [10_000, 10_000, 10_000, 10_000])  # fmt: skip
    settings = policy()
    smart = summarise("smart", cases, smart_friction(cases, settings, lambda _n: None), settings)
    assert (smart.fraud_stopped, smart.good_declined, smart.good_challenged) == (2, 0, 1)
    assert smart.answer_rate == 1.0 and smart.max_challenges_per_customer == 1
    silent = summarise("silent", cases, silent_block(cases, 0.5), settings)
    assert verdict(smart, silent, 2)["fewer_good_declined"] == 1.0
