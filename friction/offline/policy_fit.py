"""Fit smart friction's parameters on a past window, never on the window it will serve.

A ``PolicyFit`` holds what the policy cannot know from settings alone:

- **calibration**: Platt scaling of the model's score (``logit p = a + b·logit score``),
  by maximum likelihood with a weak pull towards the identity, so a window with few
  frauds cannot bend it far;
- **answers** per payment channel: the share of challenged frauds a question would have
  released, of genuine payments it would have blocked (no answer in time, a mistaken
  "no") and of those left unanswered, as the backtest's dialogue says
  (``replay.answer_in_time``), each shrunk towards the documented answer model by
  ``PRIOR_WEIGHT`` pseudo-payments;
- **question price**: the smallest price added to every question that keeps the
  window's share of genuine payments asked under ``friction_rate_cap``;
- **review price**: the smallest price added to every review of an unanswered question
  that keeps the window's expected reviews under ``review_rate_cap`` of its payments.

``split`` cuts a stream at a point in time: the fit sees only what came before it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from friction.offline.cases import Cases
from friction.offline.policy_replay import Case, answer_in_time
from friction.scoring.policy import (
    DEFAULT_FIT,
    LOGIT_LIMIT,
    Answers,
    Costs,
    PolicyFit,
    costs_of,
    decline_cost,
    in_eur,
    on_silence,
    review_cost,
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
    """Calibration, answer rates, review and question prices fitted on ``past`` alone."""
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
    fit = fit.model_copy(update={"question_price_minor": price})
    return fit.model_copy(update={"review_price_minor": _review_price(past, settings, fit)})


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
    """Per channel: challenged frauds released by a "yes", genuine payments blocked (by a
    "no" or by silence) and left unanswered, shrunk towards the documented answer model."""
    counts: dict[str, list[int]] = {}
    for case in past.cases:
        answer = answer_in_time(settings, case)
        row = counts.setdefault(case.channel, [0, 0, 0, 0, 0])
        if case.fraud:
            row[0] += 1
            row[1] += answer is not None and answer != "deny"
        else:
            row[2] += 1
            row[3] += answer is None or answer == "deny"
            row[4] += answer is None
    prior = DEFAULT_FIT.fallback

    def shrunk(count: int, total: int, towards: float) -> float:
        return round((count + PRIOR_WEIGHT * towards) / (total + PRIOR_WEIGHT), 6)

    return {
        channel: Answers(
            leak=shrunk(released, frauds, prior.leak),
            miss=shrunk(missed, genuine, prior.miss),
            silent=shrunk(silent, genuine, prior.silent),
        )
        for channel, (frauds, released, genuine, missed, silent) in sorted(counts.items())
    }


def _asked(settings: Settings, fit: PolicyFit, case: Case, score: float) -> Costs | None:
    """The costs of a payment of the window that the policy would weigh and ask about."""
    if score >= settings.decline_at:
        return None
    p = fit.probability(score)
    amount = in_eur(settings, case.amount_minor, case.currency)
    if score < settings.challenge_at and p * amount < settings.challenge_loss_minor:
        return None
    question = (
        settings.friction_cost_minor * settings.friction_cost_by_channel.get(case.channel, 1.0)
        + fit.question_price_minor
    )
    declined = decline_cost(settings, amount)
    _, silence = on_silence(settings, p, amount, declined, review_cost(settings, fit))
    costs = costs_of(p, amount, question, declined, fit.answers_on(case.channel), silence)
    if costs.challenge < costs.allow and costs.challenge <= costs.decline:
        return costs
    return None


def _review_price(past: Cases, settings: Settings, fit: PolicyFit) -> float:
    """The smallest price per review that keeps the window's reviews of unanswered
    questions under ``review_rate_cap`` of its payments.

    A question asked is reviewed if unanswered (a share ``silent`` of them) while a review
    costs less than declining, ``(1 − p) × decline cost``: what is left of that margin is
    the price that would turn its silence into a block. Fitted after the question price
    (which it can only make dearer), so neither cap is exceeded on the window.
    """
    cap = settings.review_rate_cap
    if cap <= 0.0 or settings.no_answer_verdict != "weighed":
        return 0.0
    margins: list[tuple[float, float]] = []
    for case, score in zip(past.cases, past.scores.tolist(), strict=True):
        if _asked(settings, fit, case, score) is None:
            continue
        p = fit.probability(score)
        declined = decline_cost(settings, in_eur(settings, case.amount_minor, case.currency))
        margin = (1.0 - p) * declined - settings.review_cost_minor
        if margin > 0.0:
            margins.append((margin, fit.answers_on(case.channel).silent))
    allowed, expected = cap * len(past.cases), 0.0
    for margin, silent in sorted(margins, reverse=True):
        expected += silent
        if expected > allowed:
            return round(margin, 2)
    return 0.0


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
        costs = None if is_fraud else _asked(settings, fit, case, score)
        if costs is not None:
            p = fit.probability(score)
            slack.append((costs.allow - costs.challenge) / max(1.0 - p, 1e-12))
    allowed = int(cap * genuine)
    if len(slack) <= allowed:
        return 0.0
    return round(float(sorted(slack, reverse=True)[allowed]), 2)


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)
