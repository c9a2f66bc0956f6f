"""The policy's fit: only the past window, calibration, answer rates, the friction cap."""

from __future__ import annotations

import numpy as np
import pytest

from friction.backtest.compare import compare
from friction.backtest.policies import smart_friction
from friction.backtest.report import summarise
from friction.offline.cases import Cases
from friction.offline.policy_fit import after_days, fit_policy, split
from friction.offline.policy_replay import Case
from friction.settings import Settings

DAY = 86_400.0


def stream(days: int = 20, per_day: int = 400, seed: int = 1, bias: float = 0.0) -> Cases:
    """Payments whose fraud follows a known calibration of their score."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    scores = rng.beta(0.3, 6.0, n)
    logit = np.log(scores / (1 - scores))
    fraud = rng.random(n) < 1 / (1 + np.exp(-(bias + logit)))
    answers = rng.random(n)
    cases = [
        Case(f"p{i}", i * DAY / per_day, f"c{i % 300}", f"m{i % 50}", ("ecom", "pos")[i % 2],
             int(rng.integers(500, 80_000)), "EUR", bool(f),
             ("deny" if u < 0.9 else "none") if f else ("confirm" if u < 0.86 else "none"),
             60.0 if (u < 0.9 if f else u < 0.86) else None)
        for i, (f, u) in enumerate(zip(fraud.tolist(), answers.tolist(), strict=True))
    ]  # fmt: skip
    return Cases(cases, scores, ["stolen_card" if f else "genuine" for f in fraud.tolist()])


def settings(**kw: object) -> Settings:
    return Settings(**{"explore_share": 0.0, **kw})  # type: ignore[arg-type]


def test_the_fit_comes_only_from_payments_before_the_replay_window() -> None:
    cases = stream()
    replay_from = after_days(cases, 7)
    past, replay = split(cases, replay_from)
    assert past.cases[-1].ts < replay_from <= replay.cases[0].ts
    fit = fit_policy(past, settings())
    # the replay window rewritten beyond recognition: the fit does not move
    scrambled = Cases(
        past.cases + [Case(c.payment_id, c.ts, c.customer, c.counterparty, c.channel,
                           c.amount_minor * 7, c.currency, not c.fraud, "confirm", 1.0)
                      for c in replay.cases],
        np.concatenate([past.scores, 1.0 - replay.scores]),
        past.scenarios + replay.scenarios,
    )  # fmt: skip
    assert fit_policy(split(scrambled, replay_from)[0], settings()) == fit
    assert fit.window_end is not None and fit.window_end.timestamp() < replay_from
    assert fit.rows == len(past.cases)
    result = compare("s", cases, settings(), replay_from)
    assert result.fit == fit_policy(past, settings(), "s")
    assert result.smart.payments == len(replay.cases)


def test_calibration_recovers_a_biased_score() -> None:
    fit = fit_policy(stream(days=40, bias=-1.0, seed=2), settings())
    assert fit.intercept == pytest.approx(-1.0, abs=0.25)
    assert fit.slope == pytest.approx(1.0, abs=0.15)
    assert fit.probability(0.5) < 0.4  # the score overstates fraud by e^1 in odds


def test_answer_rates_per_channel_are_the_windows_shrunk_to_the_documented_model() -> None:
    fit = fit_policy(stream(days=10), settings())
    for channel in ("ecom", "pos"):
        answers = fit.answers_on(channel)
        assert 0.10 < answers.miss < 0.18  # 14 % of genuine customers never answer
        assert 0.10 < answers.silent <= answers.miss  # here every miss is a silence
        assert answers.leak < 0.01  # no victim confirms (a silent one is blocked): below 2 %
    assert fit.answers_on("transfer") == fit.fallback


def test_the_question_price_keeps_the_windows_friction_under_the_cap() -> None:
    cases = stream(days=10)
    free = fit_policy(cases, settings(friction_cost_minor=0, friction_rate_cap=0.0))
    capped_settings = settings(friction_cost_minor=0, friction_rate_cap=0.01)
    capped = fit_policy(cases, capped_settings)
    assert free.question_price_minor == 0.0 < capped.question_price_minor

    def friction(fit_settings: Settings, fit: object) -> float:
        out = smart_friction(cases, fit_settings, lambda _n: None, fit)  # type: ignore[arg-type]
        return summarise("smart", cases, out, fit_settings).friction_rate

    assert friction(capped_settings, free) > 0.01 >= friction(capped_settings, capped)


def test_the_review_price_keeps_the_windows_unanswered_reviews_under_the_cap() -> None:
    cases = stream(days=10)
    many = {"friction_cost_minor": 0, "friction_rate_cap": 0.03}  # many questions, many silences
    free = fit_policy(cases, settings(**many, review_rate_cap=0.0))
    capped_settings = settings(**many, review_rate_cap=0.002)
    capped = fit_policy(cases, capped_settings)
    assert free.review_price_minor == 0.0 < capped.review_price_minor

    def reviews(fit: object) -> float:
        out = smart_friction(cases, capped_settings, lambda _n: None, fit)  # type: ignore[arg-type]
        return summarise("smart", cases, out, capped_settings).reviews / len(cases.cases)

    assert reviews(free) > 0.002 >= reviews(capped)
    fixed = fit_policy(cases, settings(**many, no_answer_verdict="blocked"))
    assert fixed.review_price_minor == 0.0  # nothing to ration when silence always blocks


def test_an_empty_window_fits_the_documented_defaults() -> None:
    past, _ = split(stream(days=2), 0.0)
    assert not past.cases
    assert fit_policy(past, settings()).rows == 0
