"""The one mapping from an API payment to what the feature code reads (online and offline)."""

from __future__ import annotations

from friction.api.schemas import Payment
from friction.scoring.features import PaymentFacts


def facts_of(payment: Payment) -> PaymentFacts:
    """Feature-relevant facts of a payment; a transfer's counterparty is its payee."""
    merchant = payment.merchant
    return PaymentFacts(
        ts=payment.occurred_at.timestamp(),
        amount=payment.amount.value / 100.0,
        customer_id=payment.customer.id,
        merchant_id=merchant.id,
        terminal_id=merchant.terminal_id or merchant.id,
        counterparty_id=payment.payee.id if payment.payee else merchant.id,
        channel=payment.channel,
    )
