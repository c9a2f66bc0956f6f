"""Event schemas: one pydantic model per event type, versioned, keyed by customer.

Events are what other systems (the label sink, analysts' notebooks, Kafka
consumers) rely on, so each carries ``schema`` = ``<type>/v<version>`` and a
deterministic ``event_id`` derived from the state change it records: a
consumer de-duplicates on it, which turns at-least-once delivery into
exactly-once effects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

Topic = Literal["decisions", "dialogues", "labels", "audit"]
LabelValue = Literal["fraud", "genuine", "no_answer"]
LabelSource = Literal[
    "customer_confirmed",
    "customer_denied",
    "no_answer",
    "chargeback",
    "fraud_report",
    "analyst",
]


class EventBase(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    at: datetime
    customer_id: str
    payment_id: str


class ShadowScore(BaseModel):
    """A challenger's score of the same feature vector: logged, never acted on."""

    model_config = ConfigDict(frozen=True)

    model_version: str
    score: float


NOT_LOGGED: dict[str, Any] = {"customer": {"phone"}, "payee": {"name"}}
"""Fields of the scored body a decision event leaves out: contact data and a person's name."""


class RuleMatch(BaseModel):
    """A rule or an allow/block list that matched, at the version that was live."""

    model_config = ConfigDict(frozen=True)

    source: Literal["list", "rule"]
    id: str
    version: int
    action: str
    mode: Literal["live", "shadow"] = "live"


class RuleFailure(BaseModel):
    """A rule that could not be evaluated for this payment (it counted as no match)."""

    model_config = ConfigDict(frozen=True)

    source: Literal["list", "rule"]
    id: str
    version: int
    message: str


class RulesTrace(BaseModel):
    """What the tenant's rules and lists said of a payment (``docs/rules.md``)."""

    model_config = ConfigDict(frozen=True)

    matched: list[RuleMatch] = []
    """Every match, live or shadow, in the order they act."""
    acted: RuleMatch | None = None
    """The match that made the decision; None when the model's policy made it."""
    errors: list[RuleFailure] = []


class DecisionEvent(EventBase):
    """A scoring decision with the exact feature vector the model saw."""

    type: Literal["decision"] = "decision"
    schema_: Literal["decision/v1"] = Field("decision/v1", alias="schema")
    occurred_at: datetime
    decision: str
    score: float
    model_version: str
    reasons: list[str]
    features: dict[str, float | None]  # None = missing (NaN to the model)
    amount_minor: int
    currency: str
    merchant_id: str
    terminal_id: str
    channel: str
    propensity: float = 1.0
    explored: bool = False
    expected_loss_minor: float = 0.0
    friction_cost_minor: float = 0.0
    degraded: bool = False
    shadow: ShadowScore | None = None
    """The shadow challenger's score (``FRICTION_SHADOW_MODEL``); None when none is set."""
    rules: RulesTrace | None = None
    """The tenant's rules and lists on this payment; None when the tenant has none."""
    payment: dict[str, Any] | None = None
    """The scored body as the tenant sent it, without ``NOT_LOGGED`` (the customer's phone,
    the payee's name): what rules read, so a rule can be backtested on the decision log."""


class DialogueEvent(EventBase):
    """A dialogue changed state (opened, sent, answered, expired, ...)."""

    type: Literal["dialogue"] = "dialogue"
    schema_: Literal["dialogue/v1"] = Field("dialogue/v1", alias="schema")
    dialogue_id: str
    state: str
    channel: str
    locale: str
    answer: str | None = None
    verdict: str | None = None


class LabelEvent(EventBase):
    """Truth about a payment, with where it came from and how late it came."""

    type: Literal["label"] = "label"
    schema_: Literal["label/v1"] = Field("label/v1", alias="schema")
    label: LabelValue
    source: LabelSource
    delay_seconds: float
    propensity: float = 1.0
    merchant_id: str
    terminal_id: str
    occurred_at: datetime


class ErasureEvent(EventBase):
    """A customer's personal data was erased (audit trail; consumers erase their copies too).

    ``customer_id`` is the pseudonym, never the erased id; ``payment_id`` is empty.
    """

    type: Literal["erasure"] = "erasure"
    schema_: Literal["erasure/v1"] = Field("erasure/v1", alias="schema")
    payments: int
    dialogues: int
    reviews: int
    deleted: int


Event = Annotated[
    DecisionEvent | DialogueEvent | LabelEvent | ErasureEvent, Field(discriminator="type")
]

TOPIC_OF: dict[str, Topic] = {
    "decision": "decisions",
    "dialogue": "dialogues",
    "label": "labels",
    "erasure": "audit",
}


def topic_of(event: DecisionEvent | DialogueEvent | LabelEvent | ErasureEvent) -> Topic:
    """Topic an event is published on."""
    return TOPIC_OF[event.type]


def encode(event: DecisionEvent | DialogueEvent | LabelEvent | ErasureEvent) -> bytes:
    """An event's wire JSON: what the outbox keeps and the buses write, byte for byte."""
    return event.model_dump_json(by_alias=True).encode()


@dataclass(frozen=True, slots=True)
class EncodedEvent:
    """An event as its wire JSON, with what a bus routes it by (topic, key, headers).

    The outbox keeps events encoded; the relay hands these bytes to the bus as they are,
    because validating them into a model only for the bus to serialise it again cost 9 %
    of the service's CPU (docs/performance.md).
    """

    raw: bytes
    topic: Topic
    schema: str
    event_id: str
    customer_id: str

    @classmethod
    def of(cls, event: DecisionEvent | DialogueEvent | LabelEvent | ErasureEvent) -> EncodedEvent:
        return cls(encode(event), topic_of(event), event.schema_, event.event_id, event.customer_id)

    @classmethod
    def from_json(cls, raw: bytes) -> EncodedEvent:
        """Routing fields of stored JSON that ``encode`` wrote (trusted: no validation)."""
        body = orjson.loads(raw)
        return cls(
            raw, TOPIC_OF[body["type"]], body["schema"], body["event_id"], body["customer_id"]
        )
