"""Domain records that the store keeps: a payment's decision and a dialogue's state.

They are pydantic models so that every adapter (SQLite, Redis) stores the same
JSON and reads it back validated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from friction.domain.decision import Fallback, PaymentStatus, Reason
from friction.domain.dialogue import FlowState
from friction.domain.events import (
    DecisionEvent,
    DialogueEvent,
    EncodedEvent,
    ErasureEvent,
    LabelEvent,
)
from friction.domain.tenancy import DEFAULT_TENANT, scoped

DialogueState = Literal[
    "created", "sent", "delivered", "answered", "expired", "opted_out", "failed"
]
OPEN_STATES: frozenset[str] = frozenset({"created", "sent", "delivered"})


class PaymentRecord(BaseModel):
    """A scored payment: the exact response given, and where it stands now.

    Stored under ``key`` (the tenant's payment id, scoped): every write of a payment goes
    through the record itself, so no code path can store it under another name.
    """

    tenant: str = DEFAULT_TENANT
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
    fingerprint: str = ""
    """Hash of who pays whom how much with what: a retry of the same payment has the same."""
    propensity: float = 1.0
    unusual_amount: bool = False
    """Far above the customer's usual amount when scored: a fraud label then points at the
    card rather than the terminal (``features.apply_label``)."""
    label: str | None = None
    history: dict[str, float | None] = {}
    """The customer's history features at decision time (counts, means, time since last
    payment, first counterparty): kept for the review desk, only for payments that may
    reach a person (not for allowed ones, which are most of them)."""

    @property
    def key(self) -> str:
        """Where the store keeps this payment (``tenancy.scoped``)."""
        return scoped(self.tenant, self.status.payment_id)


class DialogueRecord(BaseModel):
    """One conversation with a customer about one payment.

    ``flow`` holds where the conversation stands in its flow (pure data, see
    ``friction.dialogue.flows``); ``ladder``/``rung`` say which channel is asking
    now and which comes next if nobody answers by ``next_rung_at``.
    """

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
    flow: FlowState
    params: dict[str, str | int | None] = {}
    ladder: list[str] = []
    rung: int = 0
    next_rung_at: datetime | None = None
    message_ids: list[str] = []
    answer: str | None = None
    """The customer's last clear answer: ``yes``, ``no`` or ``human`` (asked for a person)."""
    answered_via: str | None = None
    """The channel the last answer came from (the rung asking may be another)."""
    answered_at: datetime | None = None
    reference: str = ""
    """Four digits naming this dialogue in an SMS when one phone has several open."""
    on_silence: Fallback = "blocked"
    """What the payment becomes if nobody answers: the policy chose it when it asked."""

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


AnyEvent = DecisionEvent | DialogueEvent | LabelEvent | ErasureEvent


@dataclass(frozen=True, slots=True)
class LabelUpdate:
    """A label's effect on feature state: which terminal/merchant, which payment day."""

    merchant_id: str
    terminal_id: str
    payment_day: int
    is_fraud: bool
    unusual_amount: bool
    """The payment's amount was far above its customer's usual (``features.unusual_amount``)."""


class Preferences(BaseModel):
    """What a customer chose: channel order, language, SMS opt-out."""

    channels: list[str] = []
    locale: str | None = None
    sms_opted_out: bool = False


ReviewReason = Literal[
    "policy_review", "dialogue_review", "contest", "delivery_failed", "opted_out"
]
ReviewStatus = Literal["open", "assigned", "resolved"]


class AuditEntry(BaseModel):
    """One line of a review item's trail: who did what, when (append-only)."""

    at: datetime
    actor: str
    action: str
    detail: str = ""


class ReviewRecord(BaseModel):
    """An item on the analysts' queue: a payment a person must decide on.

    ``score``/``reasons`` and ``history`` are snapshots taken when the item opened, so an
    analyst sees what the model saw even after the customer's state has moved on.
    ``version`` grows by one with each write (optimistic concurrency in ``commit``).
    """

    id: str
    payment_id: str
    customer_id: str
    reason: ReviewReason
    status: ReviewStatus = "open"
    assignee: str | None = None
    created_at: datetime
    resolved_at: datetime | None = None
    verdict: Literal["released", "blocked"] | None = None
    label: Literal["fraud", "genuine"] | None = None
    note: str | None = None
    score: float
    reasons: list[Reason] = []
    history: dict[str, float | None] = {}
    audit: list[AuditEntry] = []
    version: int = 1


class CustomerSession(BaseModel):
    """A short-lived credential of one customer of one tenant (the app's, like the ephemeral
    keys payment APIs hand to mobile apps). Stored under a digest of its token, never the
    token itself: a copy of the store answers no prompt."""

    customer_id: str
    """The core's (scoped) id: ``tenancy.tenant_of`` gives the tenant."""
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Quota:
    """``amount`` more of something capped at ``limit`` per sliding ``window_s`` under ``key``
    (SMS to one customer, to one number range, spend); ``name`` says which cap refused."""

    name: str
    key: str
    amount: float
    limit: float
    window_s: float


@dataclass(frozen=True, slots=True)
class Mark:
    """A fact that holds until ``until`` (epoch seconds): a confirmed payment fingerprint,
    a processed inbound message id, a trusted payee. Every mark expires."""

    kind: str
    key: str
    until: float
    value: str = ""
    """What the fact points at (a declined payment's id), read back with ``read_mark``."""


@dataclass(slots=True)
class Change:
    """One atomic unit of work: records to write and the events that announce them.

    Adapters apply a ``Change`` all-or-nothing, events going to the outbox in the
    same transaction, so that a state change stored is a state change published.
    """

    payment: PaymentRecord | None = None
    """Written under its own ``key``."""
    dialogue: DialogueRecord | None = None
    events: list[AnyEvent] = field(default_factory=list)
    challenge: tuple[str, float] | None = None
    labels: list[LabelUpdate] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    preferences: tuple[str, Preferences] | None = None
    review: ReviewRecord | None = None
    """Written only if the stored item's version is ``review.version - 1`` (absent for 1);
    otherwise the whole change is refused with ``Conflict`` (two analysts, one item)."""


@dataclass(frozen=True, slots=True)
class Observation:
    """What the store answers for a payment: its features and the customer's recent friction."""

    features: list[float]
    recent_challenges: int


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An event waiting to be published, as stored, with its position in the outbox."""

    seq: int
    event: EncodedEvent
