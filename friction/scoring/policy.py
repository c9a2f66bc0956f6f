"""Policy: from a score and the customer's friction so far to an action.

The thresholds come from settings. A challenge is only possible when the
customer can be reached and has friction budget left; otherwise a suspicious
payment goes to a person (review) rather than being silently declined.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class PolicyInput:
    score: float
    amount_minor: int
    recent_challenges: int
    reachable: bool


def decide(settings: Settings, given: PolicyInput) -> tuple[Decision, list[Reason]]:
    """The action for a payment and any policy reasons to add to the model's."""
    if given.score >= settings.decline_at:
        return "decline", []
    if given.score < settings.challenge_at:
        return "allow", []
    if not given.reachable:
        return "review", [NO_CHANNEL]
    if given.recent_challenges >= settings.friction_budget:
        return "review", [BUDGET_SPENT]
    return "challenge", []
