"""Policy: from a score, an amount and the customer's situation to an action.

Smart friction compares what each action is expected to cost, in EUR cents:

- *allow*: the fraud loss, ``p × amount``;
- *decline*: a good customer's cost of a declined payment, ``(1 − p) × decline cost``;
- *challenge*: the fraud that slips through a question (the victim confirms by mistake,
  ``leak``), plus, if the customer is genuine, the cost of the question and the chance
  that they say "no" by mistake (``miss`` less ``silent``), plus the cost of silence
  (``silent``: no answer in time) under the payment's *fallback*.

The fallback is chosen when the question is asked (``no_answer_verdict = weighed``): a
person reviews an unanswered payment when an analyst's review costs less than declining a
customer who is probably genuine, ``(1 − p) × decline cost``; otherwise silence blocks it.
A fitted *review price* keeps those reviews within ``review_rate_cap``.

``p`` is the model's score calibrated on a past window, and ``leak`` / ``miss`` are the
answer rates seen there per channel: a ``PolicyFit`` (``friction.backtest.fit`` fits it;
the registry keeps it beside the model as ``policy.json``). A fitted *question price* is
added to every question when the plain costs would exceed the friction-rate cap, and a
review price to every review when they would exceed the review-rate cap.

- ``decline`` at or above ``decline_at`` (a ceiling), or when declining costs less than
  asking: a score so high that even a confirmation could not clear it (ANSWER_CANNOT_CLEAR).
- A payment is *risky* when its score reaches ``challenge_at`` or its expected loss reaches
  ``challenge_loss_minor``; a risky payment is asked about when a question costs less than
  allowing it, else it is a *quiet win*: allowed and logged.
- A payee or merchant the customer confirmed recently is *trusted*: not asked again.
- A challenge needs a reachable customer with friction budget left; otherwise a person
  reviews the payment rather than it being silently declined.
- *Exploration*: a small share of what would be allowed is challenged anyway, chosen by
  a hash of the payment id (a retry is decided the same way); its propensity is
  recorded so that retraining can weight those labels by 1 / propensity.

Rules (lists, issue 17) sit before this: ``Action.costs`` keeps every option's cost, so
a rule's action can replace the policy's and the record still says what it would have done.
``challenge_at = 0`` keeps the walking skeleton's meaning: challenge everything below
``decline_at``, whatever its amount.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from friction.domain.decision import Decision, Fallback, Reason
from friction.settings import PolicySettings

BUDGET_SPENT = Reason(
    code="FRICTION_BUDGET_SPENT",
    text="This customer was already asked several times recently; a person will review it.",
)
NO_CHANNEL = Reason(
    code="CUSTOMER_UNREACHABLE",
    text="The customer cannot be asked right now; a person will review it.",
)
QUIET_WIN = Reason(
    code="QUIET_WIN",
    text="Slightly unusual, but too small to trouble the customer; it is logged.",
)
TRUSTED = Reason(
    code="TRUSTED_PAYEE",
    text="The customer confirmed a payment to this payee recently.",
)
CARD_CHECK = Reason(
    code="CARD_CHECK",
    text="A card check (amount 0): nothing is charged, so the customer is not asked.",
)
CARD_CHECK_FLAGGED = Reason(
    code="CARD_CHECK_FLAGGED",
    text="A card check the model finds very risky: a person reviews it.",
)
EXPLORED = Reason(
    code="EXPLORATION",
    text="A random check that helps the fraud model learn; most such payments are genuine.",
)
BEYOND_ANSWER = Reason(
    code="ANSWER_CANNOT_CLEAR",
    text="So likely fraud that even the customer's confirmation would not make it safe.",
)
LOGIT_LIMIT = 12.0
"""Scores are clipped to logit ±12 before calibration: 0 and 1 stay finite."""


class Answers(BaseModel):
    """How challenges on one channel end: fraud let through, genuine customers declined."""

    model_config = ConfigDict(frozen=True)

    leak: float = Field(0.02, ge=0.0, le=1.0)
    """Share of challenged frauds released (the victim confirms by mistake)."""
    miss: float = Field(0.14, ge=0.0, le=1.0)
    """Share of challenged genuine payments blocked (no answer in time, or a mistaken no)."""
    silent: float = Field(0.13, ge=0.0, le=1.0)
    """Share of challenged genuine payments not answered in time (part of ``miss``)."""

    @property
    def said_no(self) -> float:
        """Share of challenged genuine payments whose customer said "no" by mistake."""
        return max(self.miss - self.silent, 0.0)


class PolicyFit(BaseModel):
    """The policy's parameters fitted on a past window; loaded once with the model.

    The defaults are the documented answer model (86 % of genuine customers confirm in
    time, 13 % do not answer, 2 % of victims confirm by mistake) and an uncalibrated score:
    what the policy uses before anything was fitted.
    """

    model_config = ConfigDict(frozen=True)

    intercept: float = 0.0
    """Calibration: logit(p) = intercept + slope × logit(score)."""
    slope: float = 1.0
    """Calibration slope (1 with intercept 0: the score is taken as a probability)."""
    answers: dict[str, Answers] = {}
    """Answer rates per payment channel seen in the window."""
    fallback: Answers = Answers()
    """Answer rates of a channel the window did not see."""
    question_price_minor: float = Field(0.0, ge=0.0)
    """Added to every question's cost so that the window's friction rate stays under the cap."""
    review_price_minor: float = Field(0.0, ge=0.0)
    """Added to every review of an unanswered question so that the window's reviews stay
    under ``review_rate_cap``."""
    window_start: datetime | None = None
    """First payment of the window the parameters were fitted on."""
    window_end: datetime | None = None
    """Last payment of that window: everything replayed or served comes after it."""
    rows: int = 0
    """Payments in the window."""
    frauds: int = 0
    """Frauds among them."""
    source: str = ""
    """What the window was (a stream's hash, the handbook days)."""

    def probability(self, score: float) -> float:
        """The calibrated chance that a payment with this score is fraud."""
        if self.intercept == 0.0 and self.slope == 1.0:
            return score
        clipped = min(max(score, 1e-12), 1.0 - 1e-12)
        logit = min(max(math.log(clipped / (1.0 - clipped)), -LOGIT_LIMIT), LOGIT_LIMIT)
        return 1.0 / (1.0 + math.exp(-(self.intercept + self.slope * logit)))

    def answers_on(self, channel: str) -> Answers:
        """The answer rates of a payment channel."""
        return self.answers.get(channel, self.fallback)


DEFAULT_FIT = PolicyFit()


@dataclass(frozen=True, slots=True)
class PolicyInput:
    """What the policy knows of a payment: its score, amount and the customer's situation."""

    score: float
    amount_minor: int
    recent_challenges: int
    reachable: bool
    payment_id: str = ""
    channel: str = ""
    trusted: bool = False
    currency: str = "EUR"


@dataclass(frozen=True, slots=True)
class Costs:
    """Expected cost (EUR cents) of each option for one payment."""

    allow: float
    challenge: float
    decline: float


@dataclass(frozen=True, slots=True)
class Action:
    """The policy's answer, with what the decision event must record about it.

    ``propensity`` is the probability that this policy takes this action for this
    payment (1 unless exploration was possible); ``explored`` marks a challenge made
    only to learn; ``costs`` are the options' expected costs (None when not weighed);
    ``on_silence`` is what a challenge's silence leads to (the dialogue keeps it).
    """

    decision: Decision
    reasons: list[Reason] = field(default_factory=list)
    propensity: float = 1.0
    explored: bool = False
    expected_loss: float = 0.0
    friction_cost: float = 0.0
    costs: Costs | None = None
    on_silence: Fallback = "blocked"


def explore_draw(payment_id: str) -> float:
    """A uniform number in [0, 1) fixed by the payment id: idempotent across retries."""
    digest = hashlib.blake2b(payment_id.encode(), digest_size=8, person=b"explore").digest()
    return int.from_bytes(digest, "big") / 2**64


def in_eur(settings: PolicySettings, amount_minor: float, currency: str) -> float:
    """An amount in EUR cents, so that losses in different currencies compare."""
    return amount_minor * settings.loss_currency_rates.get(currency, 1.0)


def friction_cost(settings: PolicySettings, given: PolicyInput) -> float:
    """What a question costs for this customer and channel, if the customer is genuine."""
    per_channel = settings.friction_cost_by_channel.get(given.channel, 1.0)
    growth = 1.0 + settings.friction_cost_growth * given.recent_challenges
    return settings.friction_cost_minor * per_channel * growth


def decline_cost(settings: PolicySettings, amount_eur: float) -> float:
    """What declining a good payment costs: a fixed part and a share of its amount."""
    return settings.decline_cost_minor + settings.decline_cost_share * amount_eur


def review_cost(settings: PolicySettings, fit: PolicyFit) -> float:
    """What one review of an unanswered question costs, with the fitted capacity price."""
    return settings.review_cost_minor + fit.review_price_minor


def on_silence(
    settings: PolicySettings, p: float, amount_eur: float, declined: float, reviewed: float
) -> tuple[Fallback, float]:
    """The fallback of an unanswered question and what silence then costs per payment asked.

    Silence is taken to be as likely for a victim as for a genuine customer, so a review
    costs ``reviewed`` whoever is silent, a block costs a genuine customer's decline, and a
    release lets the silent fraud through.
    """
    verdict = settings.no_answer_verdict
    if verdict == "weighed":
        verdict = "review" if reviewed < (1.0 - p) * declined else "blocked"
    if verdict == "review":
        return verdict, reviewed
    if verdict == "released":
        return verdict, p * amount_eur
    return verdict, (1.0 - p) * declined


def costs_of(
    p: float, amount_eur: float, question: float, declined: float, on: Answers, silence: float
) -> Costs:
    """Each option's expected cost for fraud probability ``p`` (see the module docstring);
    ``silence`` is what an unanswered question costs under its fallback (``on_silence``)."""
    return Costs(
        allow=p * amount_eur,
        challenge=p * amount_eur * on.leak
        + (1.0 - p) * (question + on.said_no * declined)
        + on.silent * silence,
        decline=(1.0 - p) * declined,
    )


def choose(settings: PolicySettings, given: PolicyInput, fit: PolicyFit = DEFAULT_FIT) -> Action:
    """The action for a payment, its reasons, propensity and expected-cost figures."""
    if given.amount_minor == 0:
        return _card_check(settings, given)
    amount = in_eur(settings, given.amount_minor, given.currency)
    p = fit.probability(given.score)
    loss = p * amount
    cost = friction_cost(settings, given) + fit.question_price_minor
    if given.score >= settings.decline_at:
        return Action("decline", [], 1.0, False, loss, cost)
    declined = decline_cost(settings, amount)
    fallback, silence = on_silence(settings, p, amount, declined, review_cost(settings, fit))
    if settings.challenge_at <= 0.0:
        return ask(settings, given, loss, cost, None, fallback)
    risky = given.score >= settings.challenge_at or (
        settings.challenge_loss_minor > 0 and loss >= settings.challenge_loss_minor
    )
    if not risky:
        return _maybe_explore(settings, given, loss, cost, [], None, fallback)
    costs = costs_of(p, amount, cost, declined, fit.answers_on(given.channel), silence)
    if costs.decline < min(costs.allow, costs.challenge):
        return Action("decline", [BEYOND_ANSWER], 1.0, False, loss, cost, costs, fallback)
    if given.trusted:
        return Action("allow", [TRUSTED], 1.0, False, loss, cost, costs, fallback)
    if loss < settings.loss_floor_minor or costs.allow <= costs.challenge:
        return _maybe_explore(settings, given, loss, cost, [QUIET_WIN], costs, fallback)
    return ask(settings, given, loss, cost, costs, fallback)


def _card_check(settings: PolicySettings, given: PolicyInput) -> Action:
    """Amount 0 verifies a card: nothing can be lost on it, so it is never asked about (no SMS
    about "EUR 0.00") nor declined for an amount; a score past ``decline_at`` goes to a
    person, since the model learnt on charged payments (issue 15, item 7)."""
    cost = friction_cost(settings, given)
    if given.score >= settings.decline_at:
        return Action("review", [CARD_CHECK_FLAGGED], 1.0, False, 0.0, cost)
    return Action("allow", [CARD_CHECK], 1.0, False, 0.0, cost)


def decide(settings: PolicySettings, given: PolicyInput) -> tuple[Decision, list[Reason]]:
    """The action for a payment and any policy reasons to add to the model's."""
    action = choose(settings, given)
    return action.decision, action.reasons


def ask(
    settings: PolicySettings,
    given: PolicyInput,
    loss: float,
    cost: float,
    costs: Costs | None = None,
    fallback: Fallback = "blocked",
) -> Action:
    """Challenge when the customer can be asked (``fallback`` if they stay silent);
    otherwise a person reviews it."""
    if not given.reachable:
        return Action("review", [NO_CHANNEL], 1.0, False, loss, cost, costs, fallback)
    if given.recent_challenges >= settings.friction_budget:
        return Action("review", [BUDGET_SPENT], 1.0, False, loss, cost, costs, fallback)
    return Action("challenge", [], 1.0, False, loss, cost, costs, fallback)


def _maybe_explore(
    settings: PolicySettings,
    given: PolicyInput,
    loss: float,
    cost: float,
    reasons: list[Reason],
    costs: Costs | None = None,
    fallback: Fallback = "blocked",
) -> Action:
    """Allow, or with probability ``explore_share`` challenge to learn (never past budget)."""
    share = settings.explore_share
    eligible = (
        share > 0.0
        and given.reachable
        and not given.trusted
        and given.recent_challenges < settings.friction_budget
    )
    if not eligible:
        return Action("allow", reasons, 1.0, False, loss, cost, costs, fallback)
    if explore_draw(given.payment_id) < share:
        return Action("challenge", [EXPLORED], share, True, loss, cost, costs, fallback)
    return Action("allow", reasons, 1.0 - share, False, loss, cost, costs, fallback)
