"""What the ``Store`` contract's two modules share: times, an observation, records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from friction.domain.decision import PaymentStatus, Reason
from friction.domain.events import DecisionEvent, DialogueEvent
from friction.domain.facts import DAY, PaymentFacts
from friction.domain.records import (
    DialogueRecord,
    Observation,
    OutboxEntry,
    PaymentRecord,
    ReviewRecord,
)
from friction.ports import Store

T0 = 1_795_000_000.123456  # 2026-11-18, with microseconds: exercises number precision
WEEK = 7 * DAY


async def observe(store: Store, facts: PaymentFacts, window: float) -> Observation:
    """Observe a payment under a fresh id: the claim must be granted."""
    observation = await store.observe(facts, window, f"pay_{uuid.uuid4().hex}")
    assert isinstance(observation, Observation)
    return observation


def payment_record(payment_id: str, customer_id: str = "cus_1") -> PaymentRecord:
    now = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    status = PaymentStatus(
        payment_id=payment_id,
        decision="challenge",
        verdict="pending",
        score=0.42,
        model_version="m1",
        reasons=[],
        decided_at=now,
    )
    return PaymentRecord(
        body_hash="h" * 64,
        response='{"payment_id": "' + payment_id + '"}',
        status=status,
        customer_id=customer_id,
        merchant_id="mer_1",
        merchant_name="ACME — Ünïcode",
        terminal_id="ter_1",
        occurred_at=now,
        amount_minor=42000,
        currency="EUR",
        channel="ecom",
        propensity=0.25,
    )


def dialogue_record(dialogue_id: str, payment_id: str, state: str = "created") -> DialogueRecord:
    now = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    return DialogueRecord.model_validate(
        {
            "id": dialogue_id,
            "payment_id": payment_id,
            "customer_id": "cus_1",
            "phone": "+447700900123",
            "locale": "ar",
            "channel": "sms",
            "state": state,
            "text": "هل قمت بهذه الدفعة؟",
            "created_at": now,
            "expires_at": now + timedelta(minutes=10),
            "flow": {"flow": "purchase_confirmation", "step": "ask"},
            "ladder": ["sms", "in_app"],
        }
    )


def decision_event(payment_id: str) -> DecisionEvent:
    at = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    return DecisionEvent(
        event_id=f"decision:{payment_id}",
        at=at,
        customer_id="cus_1",
        payment_id=payment_id,
        occurred_at=at,
        decision="challenge",
        score=0.42,
        model_version="m1",
        reasons=["amount_ratio_30d"],
        features={"amount": 420.0, "secs_since_last": 3600.5},
        amount_minor=42000,
        currency="EUR",
        merchant_id="mer_1",
        terminal_id="ter_1",
        channel="ecom",
    )


def payment_of(entry: OutboxEntry) -> str:
    """The payment id of an outbox entry's event (entries carry the stored JSON)."""
    payment_id: str = orjson.loads(entry.event.raw)["payment_id"]
    return payment_id


def dialogue_event(dialogue: DialogueRecord) -> DialogueEvent:
    return DialogueEvent(
        event_id=f"dialogue:{dialogue.id}:{dialogue.state}",
        at=dialogue.created_at,
        customer_id=dialogue.customer_id,
        payment_id=dialogue.payment_id,
        dialogue_id=dialogue.id,
        state=dialogue.state,
        channel=dialogue.channel,
        locale=dialogue.locale,
    )


def review_record(review_id: str, minute: int, **changes: Any) -> ReviewRecord:
    review = ReviewRecord(
        id=review_id,
        payment_id=f"pay_{review_id}",
        customer_id="cus_1",
        reason="policy_review",
        created_at=datetime.fromtimestamp(T0, UTC) + timedelta(minutes=minute),
        score=0.731,
        reasons=[Reason(code="BUDGET_SPENT", text="asked too often")],
        history={"cust_count_7d": 3.0, "secs_since_last": None},
    )
    return review.model_copy(update=changes)


async def page_ids(store: Store, **query: Any) -> list[list[str]]:
    """Every page of a listing (ids), following the cursor to the end."""
    pages, after = [], None
    while True:
        items, after = await store.list_reviews(
            query.get("tenant", "default"),
            query.get("status"),
            query.get("assignee"),
            query.get("limit", 2),
            after,
        )
        pages.append([r.id for r in items])
        if after is None:
            return pages
