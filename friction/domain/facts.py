"""What the feature code reads of a payment, and the one mapping from the API's payment to it.

The same facts serve online scoring, training, backtests and notebooks (no train/serve
skew): the feature code (``scoring.features``) and the stores that keep its state read
nothing else of a payment.
"""

from __future__ import annotations

from dataclasses import dataclass

from friction.domain.payment import Payment

DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """What the feature code needs to know of a payment, and nothing more."""

    ts: float
    amount: float
    customer_id: str
    merchant_id: str
    terminal_id: str
    counterparty_id: str
    channel: str

    @property
    def day(self) -> int:
        return int(self.ts // DAY)


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
