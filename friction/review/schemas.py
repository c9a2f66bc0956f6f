"""Wire formats of the review API (``/v1/reviews``): queries, bodies, answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from friction.domain.decision import PaymentStatus
from friction.domain.payment import Identifier, Strict
from friction.domain.records import ReviewRecord, ReviewStatus

MAX_PAGE = 100


class ReviewQuery(Strict):
    """``GET /v1/reviews`` query: filters and the page to read."""

    status: ReviewStatus | None = None
    assignee: Identifier | None = None
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    after: str | None = Field(None, max_length=200, description="Cursor from ``next``.")


class AssignIn(Strict):
    """Take an item (or hand it to another analyst)."""

    analyst: Identifier


class ResolveIn(Strict):
    """An analyst's decision: the verdict the gateway gets, and the truth, if known."""

    analyst: Identifier
    verdict: Literal["released", "blocked"]
    label: Literal["fraud", "genuine"] | None = None
    """``None``: the analyst decided without knowing; no label reaches training."""
    note: str | None = Field(None, max_length=1000)
    override: str | None = Field(None, min_length=3, max_length=500)
    """Why ``analyst`` resolves an item assigned to someone else (absence refuses: 409); kept in
    the item's audit trail, so a second pair of eyes is never skipped silently."""


class ReviewPage(BaseModel):
    """One page of items, oldest first; pass ``next`` as ``after`` for the next page."""

    items: list[ReviewRecord]
    next: str | None = None


class TranscriptTurn(BaseModel):
    """One question the customer was asked and what they answered (None: silence)."""

    step: str
    question: str
    reply: str | None
    then: str


class Transcript(BaseModel):
    """A dialogue as the customer lived it."""

    dialogue_id: str
    flow: str
    channel: str
    channels_tried: list[str]
    state: str
    locale: str
    created_at: datetime
    answered_at: datetime | None
    answer: str | None
    turns: list[TranscriptTurn]
    last_text: str
    """The last message sent: the closing line, or the question left unanswered."""


class ReviewDetail(BaseModel):
    """Everything an analyst needs on one screen."""

    review: ReviewRecord
    payment: PaymentStatus
    amount_minor: int
    currency: str
    merchant_name: str
    channel: str
    occurred_at: datetime
    dialogue: Transcript | None = None
    history: dict[str, float | None]


class ContestIn(Strict):
    """``POST /v1/customers/{id}/contests``: the customer asks a person to look again at a
    payment of theirs that friction declined or blocked."""

    payment_id: Identifier


class ContestOut(BaseModel):
    """The review item the contest opened (or found: one per payment)."""

    payment_id: str
    review_id: str
    opened: bool
    """False when an item for this payment already existed (asked twice, or by SMS too)."""


class Notice(BaseModel):
    """What the customer's app shows after a decline or a block: what happened, in the
    customer's language, and whether a person was asked to look at it already."""

    payment_id: str
    outcome: Literal["declined", "blocked"]
    text: str
    locale: str
    direction: Literal["ltr", "rtl"]
    contested: bool
    contest_until: datetime


class NoticeList(BaseModel):
    """The customer's latest declined or blocked payment still open to contest (0 or 1)."""

    notices: list[Notice]
