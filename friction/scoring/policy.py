"""Policy: from a score, an amount and the customer's friction so far to an action.

Smart friction weighs what a payment could lose against what a question costs:

- ``decline`` at or above ``decline_at`` (nothing to ask: the model is sure).
- A payment is *risky* when its score reaches ``challenge_at`` or its expected loss
  (score × amount, in EUR cents) reaches ``challenge_loss_minor``. A risky payment is
  asked about only when its expected loss is worth the question: above the loss floor
  and above the cost of friction for this customer and channel, weighted by the chance
  that the customer is genuine. Otherwise it is a *quiet win*: allowed and logged.
- A payee or merchant the customer confirmed recently is *trusted*: not asked again.
- A challenge needs a reachable customer with friction budget left; otherwise a person
  reviews the payment rather than it being silently declined.
- *Exploration*: a small share of what would be allowed is challenged anyway, chosen by
  a hash of the payment id (a retry is decided the same way); its propensity is
  recorded so that retraining can weight those labels by 1 / propensity.

``challenge_at = 0`` keeps the walking skeleton's meaning: challenge everything below
``decline_at``, whatever its amount.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from friction.api.schemas import Decision, Reason
from friction.settings import Settings

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
class Action:
    """The policy's answer, with what the decision event must record about it.

    ``propensity`` is the probability that this policy takes this action for this
    payment (1 unless exploration was possible); ``explored`` marks a challenge made
    only to learn.
    """

    decision: Decision
    reasons: list[Reason] = field(default_factory=list)
    propensity: float = 1.0
    explored: bool = False
    expected_loss: float = 0.0
    friction_cost: float = 0.0


def explore_draw(payment_id: str) -> float:
    """A uniform number in [0, 1) fixed by the payment id: idempotent across retries."""
    digest = hashlib.blake2b(payment_id.encode(), digest_size=8, person=b"explore").digest()
    return int.from_bytes(digest, "big") / 2**64


def in_eur(settings: Settings, amount_minor: float, currency: str) -> float:
    """An amount in EUR cents, so that losses in different currencies compare."""
    return amount_minor * settings.loss_currency_rates.get(currency, 1.0)


def friction_cost(settings: Settings, given: PolicyInput) -> float:
    """What a question costs for this customer and channel, if the customer is genuine."""
    per_channel = settings.friction_cost_by_channel.get(given.channel, 1.0)
    growth = 1.0 + settings.friction_cost_growth * given.recent_challenges
    return settings.friction_cost_minor * per_channel * growth


def choose(settings: Settings, given: PolicyInput) -> Action:
    """The action for a payment, its reasons, propensity and expected-loss figures."""
    if given.amount_minor == 0:
        return _card_check(settings, given)
    loss = given.score * in_eur(settings, given.amount_minor, given.currency)
    cost = friction_cost(settings, given)
    if given.score >= settings.decline_at:
        return Action("decline", [], 1.0, False, loss, cost)
    if settings.challenge_at <= 0.0:
        return _ask(settings, given, loss, cost)
    risky = given.score >= settings.challenge_at or (
        settings.challenge_loss_minor > 0 and loss >= settings.challenge_loss_minor
    )
    if not risky:
        return _maybe_explore(settings, given, loss, cost, [])
    if given.trusted:
        return Action("allow", [TRUSTED], 1.0, False, loss, cost)
    if loss < settings.loss_floor_minor or loss < cost * (1.0 - given.score):
        return _maybe_explore(settings, given, loss, cost, [QUIET_WIN])
    return _ask(settings, given, loss, cost)


def _card_check(settings: Settings, given: PolicyInput) -> Action:
    """Amount 0 verifies a card: nothing can be lost on it, so it is never asked about (no SMS
    about "EUR 0.00") nor declined for an amount; a score past ``decline_at`` goes to a
    person, since the model learnt on charged payments (issue 15, item 7)."""
    cost = friction_cost(settings, given)
    if given.score >= settings.decline_at:
        return Action("review", [CARD_CHECK_FLAGGED], 1.0, False, 0.0, cost)
    return Action("allow", [CARD_CHECK], 1.0, False, 0.0, cost)


def decide(settings: Settings, given: PolicyInput) -> tuple[Decision, list[Reason]]:
    """The action for a payment and any policy reasons to add to the model's."""
    action = choose(settings, given)
    return action.decision, action.reasons


def _ask(settings: Settings, given: PolicyInput, loss: float, cost: float) -> Action:
    """Challenge when the customer can be asked; otherwise a person reviews it."""
    if not given.reachable:
        return Action("review", [NO_CHANNEL], 1.0, False, loss, cost)
    if given.recent_challenges >= settings.friction_budget:
        return Action("review", [BUDGET_SPENT], 1.0, False, loss, cost)
    return Action("challenge", [], 1.0, False, loss, cost)


def _maybe_explore(
    settings: Settings, given: PolicyInput, loss: float, cost: float, reasons: list[Reason]
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
        return Action("allow", reasons, 1.0, False, loss, cost)
    if explore_draw(given.payment_id) < share:
        return Action("challenge", [EXPLORED], share, True, loss, cost)
    return Action("allow", reasons, 1.0 - share, False, loss, cost)
