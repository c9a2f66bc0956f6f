"""Wire formats of the HTTP API (v1): what gateways send and what friction answers.

Every body is a pydantic model so that validation, error messages and the
OpenAPI document come from one definition. Unknown fields are rejected: a
gateway that sends a field we ignore would believe it has an effect.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, IPvAnyAddress

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Decision = Literal["allow", "challenge", "review", "decline"]
Verdict = Literal["pending", "released", "blocked", "review"]
PaymentChannel = Literal["ecom", "pos", "transfer", "p2p"]


class Strict(BaseModel):
    """Base for request bodies: unknown fields are errors, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Money(Strict):
    value: int = Field(ge=0, le=10**11, description="Amount in minor units (cents).")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")


class Customer(Strict):
    id: Identifier
    phone: str | None = Field(None, pattern=r"^\+[1-9]\d{6,14}$", description="E.164.")
    locale: str = Field("en", pattern=r"^[a-z]{2}(-[A-Z]{2})?$", description="BCP 47, e.g. en-GB.")


class Instrument(Strict):
    token: Identifier = Field(description="The gateway's token for the card; never a PAN.")
    bin: str | None = Field(None, pattern=r"^\d{6,8}$")
    last4: str | None = Field(None, pattern=r"^\d{4}$")


class Merchant(Strict):
    id: Identifier
    name: str = Field(min_length=1, max_length=80)
    mcc: str = Field(pattern=r"^\d{4}$")
    country: str = Field(pattern=r"^[A-Z]{2}$")
    terminal_id: Identifier | None = None


class Geo(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Device(Strict):
    id: Identifier | None = None
    ip: IPvAnyAddress | None = None  # one validator, one error (a union tries both: 2x)
    geo: Geo | None = None


class Payee(Strict):
    id: Identifier
    name: str = Field(min_length=1, max_length=80)
    account_last4: str | None = Field(None, pattern=r"^\d{4}$")


class Payment(Strict):
    """A payment the gateway wants scored; ``payment_id`` is the idempotency key."""

    payment_id: Identifier
    occurred_at: AwareDatetime
    amount: Money
    customer: Customer
    instrument: Instrument
    merchant: Merchant
    channel: PaymentChannel
    device: Device | None = None
    payee: Payee | None = None


class Reason(BaseModel):
    code: str
    text: str


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


class AnswerIn(Strict):
    """An in-app answer: the token came with the prompt and binds customer and dialogue."""

    token: str = Field(min_length=10, max_length=512)
    answer: Literal["yes", "no", "human"]
    """``human``: the customer asks for a person (the flow ends in review, GDPR Art. 22)."""


class ReplyIn(Strict):
    """A simulated SMS reply on the console channel (development and demos)."""

    phone: str = Field(pattern=r"^\+[1-9]\d{6,14}$")
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


class Prompt(BaseModel):
    """A question waiting for a customer in the app."""

    dialogue_id: str
    payment_id: str
    text: str
    locale: str
    direction: Literal["ltr", "rtl"]
    expires_at: datetime
    token: str
    names: list[str] = []
    """Merchant/payee names as they appear in ``text``: apps isolate them (``<bdi>``) so a
    Latin name inside Arabic text, or the reverse, cannot reorder the sentence."""


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
