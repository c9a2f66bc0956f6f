"""What friction decides about a payment and where the payment ends: the answers' shapes.

``ScoreResponse`` is what the gateway is answered (byte-identical on a retry);
``PaymentStatus`` is where the payment stands now (what ``GET /v1/payments/{id}``,
the gateway's webhook and the review desk show).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Decision = Literal["allow", "challenge", "review", "decline"]
Verdict = Literal["pending", "released", "blocked", "review"]
Fallback = Literal["released", "blocked", "review"]
"""What an unanswered question ends as: chosen by the policy when it asks."""


class Reason(BaseModel):
    code: str
    text: str
    rule: str | None = Field(None, exclude_if=lambda rule: rule is None)
    """With code ``RULE``: the id of the analysts' rule or list that acted (absent otherwise)."""


class DialogueRef(BaseModel):
    id: str
    channel: str
    expires_at: datetime


class BudgetState(BaseModel):
    used: int
    limit: int
    window_hours: float


class ScoreResponse(BaseModel):
    """What ``POST /v1/score`` answers, byte-identical on a retried ``payment_id``."""

    payment_id: str
    decision: Decision
    score: float
    model_version: str
    reasons: list[Reason]
    dialogue: DialogueRef | None = None
    budget: BudgetState
    degraded: bool = False


class PaymentStatus(BaseModel):
    """What ``GET /v1/payments/{id}`` answers: the decision and where it ended."""

    payment_id: str
    decision: Decision
    verdict: Verdict
    score: float
    model_version: str
    reasons: list[Reason]
    dialogue: DialogueRef | None = None
    decided_at: datetime
    verdict_at: datetime | None = None
    answer: str | None = None
