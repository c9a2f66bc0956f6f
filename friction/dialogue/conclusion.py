"""How a dialogue's end turns into a verdict, a label and a payment status.

Only an explicit answer teaches the model something about fraud: "yes" to every
question labels the payment genuine, "no" labels it fraud, silence is a weak
"no answer" label. A customer sent to a person (scam suspicion, asked for a
human, unclear replies, opted out) gets no label until the analyst decides.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from friction.domain.decision import PaymentStatus, Verdict
from friction.domain.events import LabelSource, LabelValue
from friction.domain.labels import label_change
from friction.domain.records import Change, DialogueRecord, DialogueState, PaymentRecord

Ending = Literal["released", "blocked", "review", "expired", "opted_out", "failed"]

_STATE: dict[Ending, DialogueState] = {
    "released": "answered",
    "blocked": "answered",
    "review": "answered",
    "expired": "expired",
    "opted_out": "opted_out",
    "failed": "failed",
}


def verdict_of(dialogue: DialogueRecord, ending: Ending) -> Verdict:
    """Released and blocked stand; silence ends as the policy chose when it asked
    (``on_silence``); anything else goes to a person."""
    if ending in ("released", "blocked", "review"):
        return ending
    if ending == "expired":
        return dialogue.on_silence
    return "review"


def label_of(ending: Ending, last_reply: str | None) -> tuple[LabelValue, LabelSource] | None:
    """The label an ending earns, if any."""
    if ending == "released" and last_reply == "yes":
        return "genuine", "customer_confirmed"
    if ending == "blocked" and last_reply == "no":
        return "fraud", "customer_denied"
    if ending == "expired":
        return "no_answer", "no_answer"
    return None


def conclude(
    payment: PaymentRecord,
    dialogue: DialogueRecord,
    ending: Ending,
    now: datetime,
) -> tuple[Change, PaymentStatus]:
    """The change (dialogue, payment, label) that ends ``dialogue`` with ``ending``."""
    status = payment.status.model_copy(
        update={
            "verdict": verdict_of(dialogue, ending),
            "verdict_at": now,
            "answer": dialogue.answer,
        }
    )
    record = payment.model_copy(update={"status": status})
    ended = dialogue.model_copy(update={"state": _STATE[ending], "answered_at": now})
    label = label_of(ending, dialogue.answer)
    if label is not None:
        change = label_change(record, label[0], label[1], now)
    else:
        change = Change(payment=record)
    change.dialogue = ended
    return change, status
