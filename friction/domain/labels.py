"""Labels: truth about a payment, from any source, as one kind of state change.

A customer's answer, a non-answer, a chargeback and an analyst's verdict all
become the same ``Change``: the payment record notes the label, a label event
goes to the outbox, and a fraud/genuine label updates the terminal's and
merchant's feature state so that the next payment there is scored with it.
"""

from __future__ import annotations

from datetime import datetime

from friction.domain.events import LabelEvent, LabelSource, LabelValue
from friction.domain.facts import DAY
from friction.domain.records import Change, LabelUpdate, PaymentRecord


def label_change(
    record: PaymentRecord, label: LabelValue, source: LabelSource, now: datetime
) -> Change:
    """The change that records ``label`` for a payment (the caller adds status updates).

    The label names the payment by its store key, as its decision event does: one identity.
    """
    occurred = record.occurred_at
    event = LabelEvent(
        event_id=f"label:{record.key}:{source}",
        at=now,
        customer_id=record.customer_id,
        payment_id=record.key,
        label=label,
        source=source,
        delay_seconds=max(0.0, (now - occurred).total_seconds()),
        propensity=record.propensity,
        merchant_id=record.merchant_id,
        terminal_id=record.terminal_id,
        occurred_at=occurred,
    )
    updates = []
    if label != "no_answer":
        day = int(occurred.timestamp() // DAY)
        fraud, unusual = label == "fraud", record.unusual_amount
        updates.append(LabelUpdate(record.merchant_id, record.terminal_id, day, fraud, unusual))
    updated = record.model_copy(update={"label": label})
    return Change(payment=updated, events=[event], labels=updates)
