"""What one payment's decision becomes: the answer, the record kept, the event published.

Built once from the same values (``Scored``), so the response a gateway gets, the record a
retry is answered from and the event training learns from can never disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from friction.domain.decision import (
    BudgetState,
    Decision,
    DialogueRef,
    PaymentStatus,
    Reason,
    ScoreResponse,
    Verdict,
)
from friction.domain.events import NOT_LOGGED, DecisionEvent, RulesTrace
from friction.domain.facts import PaymentFacts
from friction.domain.payment import Payment
from friction.domain.records import DialogueRecord, PaymentRecord
from friction.scoring.features import unusual_amount
from friction.scoring.model import Model
from friction.scoring.policy import Action
from friction.scoring.shadow import shadow_score
from friction.service.model_slot import ModelSlot
from friction.settings import PolicySettings


@dataclass(frozen=True, slots=True)
class Scored:
    """What one payment's decision is made of, before it becomes records and events."""

    tenant: str
    payment: Payment
    """Its state ids scoped to the tenant (``tenancy.scope_payment``)."""
    facts: PaymentFacts
    body_hash: str
    vector: list[float]
    score: float
    reasons: list[Reason]
    action: Action
    fingerprint: str = ""
    budget_used: int = 0
    degraded: bool = False
    rules: RulesTrace | None = None
    """What the tenant's rules and lists said (None: the tenant has none)."""
    local: Payment | None = None
    """The payment as the tenant sent it (ids not scoped): the decision event's ``payment``."""


def record_of(
    scored: Scored,
    dialogue: DialogueRecord | None,
    now: datetime,
    model: Model,
    budget: PolicySettings,
) -> PaymentRecord:
    """The response given and the record kept, built once from the same values."""
    payment, decision = scored.payment, scored.action.decision
    ref = (
        DialogueRef(id=dialogue.id, channel=dialogue.channel, expires_at=dialogue.expires_at)
        if dialogue
        else None
    )
    version = model.version
    response = ScoreResponse(
        payment_id=payment.payment_id,
        decision=decision,
        score=round(scored.score, 6),
        model_version=version,
        reasons=scored.reasons,
        dialogue=ref,
        budget=BudgetState(
            used=scored.budget_used,
            limit=budget.friction_budget,
            window_hours=budget.friction_window_hours,
        ),
        degraded=scored.degraded,
    )
    facts = scored.facts
    return PaymentRecord(
        tenant=scored.tenant,
        body_hash=scored.body_hash,
        response=response.model_dump_json(),
        status=PaymentStatus(
            payment_id=payment.payment_id,
            decision=decision,
            verdict=_VERDICT[decision],
            score=response.score,
            model_version=version,
            reasons=scored.reasons,
            dialogue=ref,
            decided_at=now,
            verdict_at=None if decision == "challenge" else now,
        ),
        customer_id=payment.customer.id,
        merchant_id=facts.merchant_id,
        merchant_name=payment.merchant.name,
        terminal_id=facts.terminal_id,
        occurred_at=payment.occurred_at,
        amount_minor=payment.amount.value,
        currency=payment.amount.currency,
        channel=payment.channel,
        propensity=scored.action.propensity,
        unusual_amount=unusual_amount(scored.vector),
        fingerprint=scored.fingerprint,
    )


def event_of(
    scored: Scored, record: PaymentRecord, now: datetime, slot: ModelSlot
) -> DecisionEvent:
    """The decision event: what the record says, with every feature and the shadow's score."""
    status, local = record.status, scored.local
    names = slot.model.feature_names
    return DecisionEvent(
        event_id=f"decision:{record.key}",
        at=now,
        customer_id=record.customer_id,
        payment_id=record.key,
        occurred_at=record.occurred_at,
        decision=status.decision,
        score=status.score,
        model_version=status.model_version,
        reasons=[r.code for r in status.reasons],
        features={
            n: None if math.isnan(v) else v for n, v in zip(names, scored.vector, strict=True)
        },
        amount_minor=record.amount_minor,
        currency=record.currency,
        merchant_id=record.merchant_id,
        terminal_id=record.terminal_id,
        channel=record.channel,
        propensity=record.propensity,
        explored=scored.action.explored,
        expected_loss_minor=scored.action.expected_loss,
        friction_cost_minor=scored.action.friction_cost,
        degraded=scored.degraded,
        shadow=shadow_score(slot.shadow, scored.vector),
        rules=scored.rules,
        payment=None
        if local is None
        else local.model_dump(mode="json", exclude_none=True, exclude=NOT_LOGGED),
    )


_VERDICT: dict[Decision, Verdict] = {
    "allow": "released",
    "challenge": "pending",
    "review": "review",
    "decline": "blocked",
}
