"""Degraded mode: decide without the store.

When the store cannot be reached in time, ``POST /v1/score`` still answers within the
budget: features from the request alone (as for a customer never seen before), the rule
configured for the payment channel, the decision tagged ``degraded``. No dialogue is
opened (its state could not be kept); the decision goes to the spill journal
(``service.spill``) until the store takes it.
"""

from __future__ import annotations

from friction.domain.decision import Decision, Reason
from friction.domain.facts import PaymentFacts
from friction.scoring.features import CustomerState, EntityState, Snapshot, compute
from friction.settings import PolicySettings

STORE_DOWN = Reason(
    code="DEGRADED_NO_HISTORY",
    text="Customer history was unavailable; decided on this payment alone.",
)


def request_only_features(facts: PaymentFacts) -> list[float]:
    """The feature vector of a payment scored against an empty history."""
    return compute(facts, Snapshot(CustomerState(), EntityState(), EntityState()))


def degraded_decision(settings: PolicySettings, channel: str, score: float) -> Decision:
    """The configured fail-open/closed rule for this payment channel."""
    rule = settings.degraded_rules.get(channel, settings.degraded_rule)
    if rule == "fail_open":
        return "allow"
    if rule == "fail_closed":
        return "decline"
    if score >= settings.decline_at:
        return "decline"
    return "review" if score >= settings.challenge_at else "allow"
