"""How a dialogue's end turns into a verdict, a label and a payment status."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from friction.api.schemas import PaymentStatus, Verdict
from friction.events.schemas import LabelSource, LabelValue
from friction.labels import label_change
from friction.records import Change, DialogueRecord, DialogueState, PaymentRecord
from friction.settings import Settings

Outcome = Literal["confirmed", "denied", "expired", "opted_out", "failed"]

_STATE: dict[Outcome, DialogueState] = {
    "confirmed": "answered",
    "denied": "answered",
    "expired": "expired",
    "opted_out": "opted_out",
    "failed": "failed",
}
_LABEL: dict[Outcome, tuple[LabelValue, LabelSource]] = {
    "confirmed": ("genuine", "customer_confirmed"),
    "denied": ("fraud", "customer_denied"),
    "expired": ("no_answer", "no_answer"),
}


def verdict_of(settings: Settings, outcome: Outcome) -> Verdict:
    """Confirmed releases, denied blocks; silence follows settings; an opt-out is never approval."""
    if outcome == "confirmed":
        return "released"
    if outcome == "denied":
        return "blocked"
    if outcome == "expired":
        return settings.no_answer_verdict
    return "review"


def conclude(
    settings: Settings,
    payment: PaymentRecord,
    dialogue: DialogueRecord,
    outcome: Outcome,
    answer: str | None,
    now: datetime,
) -> tuple[Change, PaymentStatus]:
    """The change (dialogue, payment, label) that ends ``dialogue`` with ``outcome``."""
    status = payment.status.model_copy(
        update={"verdict": verdict_of(settings, outcome), "verdict_at": now, "answer": answer}
    )
    record = payment.model_copy(update={"status": status})
    ended = dialogue.model_copy(
        update={"state": _STATE[outcome], "answer": answer, "answered_at": now}
    )
    if outcome in _LABEL:
        label, source = _LABEL[outcome]
        change = label_change(payment.status.payment_id, record, label, source, now)
    else:
        change = Change(payment=(payment.status.payment_id, record))
    change.dialogue = ended
    return change, status
