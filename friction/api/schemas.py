"""Bodies of the HTTP API (v1) that only the edge speaks: requests and answers of the routes.

The payment and the decision are the domain's (``friction.domain``); what is here is
how customers, analysts and developers talk to the routes. Unknown fields are errors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from friction.domain.payment import Phone, Strict


class AnswerIn(Strict):
    """An in-app answer: the token came with the prompt and binds customer and dialogue."""

    token: str = Field(min_length=10, max_length=512)
    answer: Literal["yes", "no", "human"]
    """``human``: the customer asks for a person (the flow ends in review, GDPR Art. 22)."""


class ReplyIn(Strict):
    """A simulated SMS reply on the console channel (development and demos)."""

    phone: Phone
    body: str = Field(min_length=1, max_length=160)


class LabelIn(Strict):
    """Late truth about a payment: a chargeback, a fraud report, an analyst's verdict."""

    label: Literal["fraud", "genuine"]
    source: Literal["chargeback", "fraud_report", "analyst"]
    note: str | None = Field(None, max_length=500)


class PreferencesIn(Strict):
    """A customer's choices: which channels may ask, in which order, in which language."""

    channels: list[Literal["in_app", "sms", "console"]] = Field(default_factory=list, max_length=3)
    locale: str | None = Field(None, pattern=r"^[a-z]{2}(-[A-Z]{2})?$")


class ErrorBody(BaseModel):
    """Every 4xx/5xx body: a code, a sentence for people, and the fields at fault."""

    error: str
    message: str
    fields: list[str] = []


class ErasureOut(BaseModel):
    """What ``DELETE /v1/customers/{id}`` answers: the pseudonym and what was erased."""

    customer: str
    """The pseudonym that replaces the customer id in what is kept (labels, decisions)."""
    payments: int
    dialogues: int
    reviews: int
    deleted: int
    erased_at: datetime


class SessionIn(Strict):
    """What the tenant's backend may ask of a new customer session (all optional)."""

    ttl_seconds: float | None = Field(None, gt=0, description="Shorter than the default life.")


class SessionOut(BaseModel):
    """A customer session: hand ``token`` to that customer's app, nobody else."""

    token: str
    """``Authorization: Bearer <token>`` on the customer routes until ``expires_at``."""
    customer_id: str
    expires_at: datetime
