"""Fit smart friction's parameters on a past window, never on the window it will serve.

A ``PolicyFit`` holds what the policy cannot know from settings alone:

- **calibration**: Platt scaling of the model's score (``logit p = a + b·logit score``),
  by maximum likelihood with a weak pull towards the identity, so a window with few
  frauds cannot bend it far;
- **answers** per payment channel: the share of challenged frauds a question would have
  released and of genuine payments it would have blocked (no answer in time, a mistaken
  "no"), as the backtest's dialogue says (``replay.dialogue_outcome``), each shrunk
  towards the documented answer model by ``PRIOR_WEIGHT`` pseudo-payments;
- **question price**: the smallest price added to every question that keeps the
  window's share of genuine payments asked under ``friction_rate_cap``.

``split`` cuts a stream at a point in time: the fit sees only what came before it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from friction.offline.cases import Cases
from friction.offline.policy_replay import dialogue_outcome
from friction.scoring.policy import (
    DEFAULT_FIT,
    LOGIT_LIMIT,
    Answers,
    PolicyFit,
    costs_of,
    decline_cost,
    in_eur,
)
from friction.settings import Settings

DAY = 86_400.0
PRIOR_WEIGHT = 20.0
"""Pseudo-payments of the documented answer model behind every fitted answer rate."""
IDENTITY_PULL = 1.0
"""Weight of the squared distance of (intercept, slope) from (0, 1) in the calibration fit."""


def split(cases: Cases, replay_from: float) -> tuple[Cases, Cases]:
    """The payments before ``replay_from`` (epoch seconds; to fit on) and the rest."""
    n = next((i for i, c in enumerate(cases.cases) if c.ts >= replay_from), len(cases.cases))
    return _rows(cases, 0, n), _rows(cases, n, len(cases.cases))


def after_days(cases: Cases, days: float) -> float:
    """The time ``days`` after a stream's first payment: where its replay starts."""
    return (cases.cases[0].ts if cases.cases else 0.0) + days * DAY


def fit_policy(past: Cases, settings: Settings, source: str = "") -> PolicyFit:
    """Calibration, answer rates and question price fitted on ``past`` alone."""
    if not past.cases:
        return DEFAULT_FIT
    fraud = np.array([c.fraud for c in past.cases], dtype=bool)
    intercept, slope = _calibration(past.scores, fraud)
    answers = _answers(past, settings)
    fit = PolicyFit(
        intercept=intercept,
        slope=slope,
        answers=answers,
        window_start=_when(past.cases[0].ts),
        window_end=_when(past.cases[-1].ts),
        rows=len(past.cases),
        frauds=int(fraud.sum()),
        source=source,
    )
    price = _question_price(past, fraud, settings, fit)
    return fit.model_copy(update={"question_price_minor": price})


def _rows(cases: Cases, start: int, end: int) -> Cases:
    return Cases(cases.cases[start:end], cases.scores[start:end], cases.scenarios[start:end])


def _logits(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    clipped = np.clip(scores, 1e-12, 1.0 - 1e-12)
    return np.clip(np.log(clipped / (1.0 - clipped)), -LOGIT_LIMIT, LOGIT_LIMIT)


def _calibration(scores: NDArray[np.float64], fraud: NDArray[np.bool_]) -> tuple[float, float]:
    """Platt scaling by maximum likelihood (L-BFGS), pulled weakly towards the identity."""
    if fraud.all() or not fraud.any():
        return 0.0, 1.0
    x, y = _logits(scores), fraud.astype(np.float64)

    def loss(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        z = theta[0] + theta[1] * x
        nll = float(np.sum(np.logaddexp(0.0, z) - y * z))
        residual = 1.0 / (1.0 + np.exp(-z)) - y
        pull = theta - np.array([0.0, 1.0])
        gradient = np.array([residual.sum(), (residual * x).sum()]) + 2 * IDENTITY_PULL * pull
        return nll + IDENTITY_PULL * float(pull @ pull), gradient

    found = minimize(loss, np.array([0.0, 1.0]), jac=True, method="L-BFGS-B")
    return round(float(found.x[0]), 6), round(float(found.x[1]), 6)


def _answers(past: Cases, settings: Settings) -> dict[str, Answers]:
    """Per channel: challenged frauds released and genuine payments blocked, shrunk."""
    counts: dict[str, list[int]] = {}
    for case in past.cases:
        blocked = dialogue_outcome(settings, case).blocked
        row = counts.setdefault(case.channel, [0, 0, 0, 0])
        if case.fraud:
            row[0] += 1
            row[1] += not blocked
        else:
            row[2] += 1
            row[3] += blocked
    prior = DEFAULT_FIT.fallback
    return {
        channel: Answers(
            leak=round((released + PRIOR_WEIGHT * prior.leak) / (frauds + PRIOR_WEIGHT), 6),
            miss=round((missed + PRIOR_WEIGHT * prior.miss) / (genuine + PRIOR_WEIGHT), 6),
        )
        for channel, (frauds, released, genuine, missed) in sorted(counts.items())
    }


def _question_price(
    past: Cases, fraud: NDArray[np.bool_], settings: Settings, fit: PolicyFit
) -> float:
    """The smallest price per question that keeps the window's friction under the cap.

    A genuine payment is asked about when a question costs less than allowing it (and
    than declining it); what the question saves per genuine customer asked (``slack``) is
    the price that would stop it. Budgets and trusted payees only ask fewer, so the cap
    holds with them too.
    """
    cap, genuine = settings.friction_rate_cap, int((~fraud).sum())
    if cap <= 0.0 or not genuine:
        return 0.0
    slack: list[float] = []
    for case, score, is_fraud in zip(past.cases, past.scores.tolist(), fraud.tolist(), strict=True):
        if is_fraud or score >= settings.decline_at:
            continue
        p = fit.probability(score)
        amount = in_eur(settings, case.amount_minor, case.currency)
        if score < settings.challenge_at and p * amount < settings.challenge_loss_minor:
            continue
        question = settings.friction_cost_minor * settings.friction_cost_by_channel.get(
            case.channel, 1.0
        )
        costs = costs_of(
            p, amount, question, decline_cost(settings, amount), fit.answers_on(case.channel)
        )
        if costs.challenge < costs.allow and costs.challenge <= costs.decline:
            slack.append((costs.allow - costs.challenge) / max(1.0 - p, 1e-12))
    allowed = int(cap * genuine)
    if len(slack) <= allowed:
        return 0.0
    return round(float(sorted(slack, reverse=True)[allowed]), 2)


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)
