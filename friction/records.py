"""Domain records that the store keeps: a payment's decision and a dialogue's state.

They are pydantic models so that every adapter (SQLite, Redis) stores the same
JSON and reads it back validated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from friction.api.schemas import PaymentStatus
from friction.events.schemas import DecisionEvent, DialogueEvent, LabelEvent

DialogueState = Literal[
    "created", "sent", "delivered", "answered", "expired", "opted_out", "failed"
]
OPEN_STATES: frozenset[str] = frozenset({"created", "sent", "delivered"})


class PaymentRecord(BaseModel):
    """A scored payment: the exact response given, and where it stands now."""

    body_hash: str
    response: str
    status: PaymentStatus
    customer_id: str
    merchant_id: str
    merchant_name: str
    terminal_id: str
    occurred_at: datetime
    amount_minor: int
    currency: str
    channel: str
    propensity: float = 1.0
    label: str | None = None


class DialogueRecord(BaseModel):
    """One conversation with a customer about one payment."""

    id: str
    payment_id: str
    customer_id: str
    phone: str | None
    locale: str
    channel: str
    state: DialogueState
    text: str
    created_at: datetime
    expires_at: datetime
    answer: str | None = None
    answered_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


AnyEvent = DecisionEvent | DialogueEvent | LabelEvent


@dataclass(frozen=True, slots=True)
class LabelUpdate:
    """A label's effect on feature state: which terminal/merchant, which payment day."""

    merchant_id: str
    terminal_id: str
    payment_day: int
    is_fraud: bool


@dataclass(slots=True)
class Change:
    """One atomic unit of work: records to write and the events that announce them.

    Adapters apply a ``Change`` all-or-nothing, events going to the outbox in the
    same transaction, so that a state change stored is a state change published.
    """

    payment: tuple[str, PaymentRecord] | None = None
    dialogue: DialogueRecord | None = None
    events: list[AnyEvent] = field(default_factory=list)
    challenge: tuple[str, float] | None = None
    labels: list[LabelUpdate] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Observation:
    """What the store answers for a payment: its features and the customer's recent friction."""

    features: list[float]
    recent_challenges: int


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An event waiting to be published, with its position in the outbox."""

    seq: int
    event: AnyEvent
