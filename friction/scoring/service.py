"""The scoring path of ``POST /v1/score``: idempotency, features, model, policy, commit.

Everything here is on the gateway's latency budget, so it does the minimum:
one store call for features, one in-process model evaluation, one commit that
also queues the events, and it never waits for a customer or a channel —
delivery of a challenge runs in the background after the answer is given.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from friction.api.schemas import (
    BudgetState,
    Decision,
    DialogueRef,
    Payment,
    PaymentStatus,
    Reason,
    ScoreResponse,
    Verdict,
)
from friction.dialogue.engine import DialogueEngine
from friction.errors import Conflict
from friction.events.schemas import DecisionEvent
from friction.metrics import Metrics
from friction.ports import Store
from friction.records import Change, DialogueRecord, PaymentRecord
from friction.scoring.explain import explain
from friction.scoring.facts import facts_of
from friction.scoring.model import Model
from friction.scoring.policy import Action, PolicyInput, choose
from friction.settings import Settings

Spawn = Callable[[Coroutine[Any, Any, None]], None]
RETRY_ALLOWED = Action(
    "allow",
    [
        Reason(
            code="CONFIRMED_RETRY",
            text="The customer confirmed this payment a moment ago; the retry goes through.",
        )
    ],
)


class ModelSlot:
    """Holds the model being served; swapping it is one attribute assignment."""

    def __init__(self, model: Model) -> None:
        self.model = model


class Scorer:
    """Scores payments and records decisions, exactly once per ``payment_id``."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        slot: ModelSlot,
        engine: DialogueEngine,
        metrics: Metrics,
        on_commit: Callable[[], None],
        spawn: Spawn,
    ) -> None:
        self._settings = settings
        self._store = store
        self._slot = slot
        self._engine = engine
        self._metrics = metrics
        self._on_commit = on_commit
        self._spawn = spawn
        self._inflight: dict[str, asyncio.Future[PaymentRecord]] = {}
        self._window_s = settings.friction_window_hours * 3600

    @property
    def model_version(self) -> str:
        """Version of the model being served."""
        return self._slot.model.version

    async def score(self, payment: Payment, body_hash: str) -> str:
        """The JSON response for a payment; a retry with the same body gets the same bytes."""
        pid = payment.payment_id
        existing = self._inflight.get(pid)
        record: PaymentRecord | None
        if existing is not None:
            record = await asyncio.shield(existing)
        else:
            record = await self._store.get_payment(pid)
        if record is None:
            future: asyncio.Future[PaymentRecord] = asyncio.get_running_loop().create_future()
            self._inflight[pid] = future
            try:
                record = await self._decide(payment, body_hash)
                future.set_result(record)
            except BaseException as error:
                future.set_exception(error)
                future.exception()  # retrieved: waiters re-raise it themselves
                raise
            finally:
                del self._inflight[pid]
        if record.body_hash != body_hash:
            raise Conflict(
                f"payment_id {pid} was already scored with a different body; "
                "use a new payment_id for a new payment"
            )
        return record.response

    async def _decide(self, payment: Payment, body_hash: str) -> PaymentRecord:
        now = datetime.now(UTC)
        facts = facts_of(payment)
        observation = await self._store.observe(facts, self._window_s)
        model = self._slot.model
        vector = observation.features
        score, why = explain(model, vector, low_risk_below=self._settings.challenge_at)
        context = await self._engine.context(payment, facts.counterparty_id)
        channel = context.ladder[0] if context.ladder else None
        action = RETRY_ALLOWED if context.confirmed_retry else choose(
            self._settings,
            PolicyInput(
                score,
                payment.amount.value,
                observation.recent_challenges,
                channel is not None,
                payment_id=payment.payment_id,
                channel=payment.channel,
                trusted=context.trusted,
                currency=payment.amount.currency,
            ),
        )
        decision = action.decision
        why.extend(action.reasons)
        dialogue = (
            self._engine.create(payment, context.ladder, now)
            if decision == "challenge" and channel is not None
            else None
        )
        ref = (
            DialogueRef(id=dialogue.id, channel=dialogue.channel, expires_at=dialogue.expires_at)
            if dialogue
            else None
        )
        used = observation.recent_challenges + (1 if dialogue else 0)
        response = ScoreResponse(
            payment_id=payment.payment_id,
            decision=decision,
            score=round(score, 6),
            model_version=model.version,
            reasons=why,
            dialogue=ref,
            budget=BudgetState(
                used=used,
                limit=self._settings.friction_budget,
                window_hours=self._settings.friction_window_hours,
            ),
        )
        record = PaymentRecord(
            body_hash=body_hash,
            response=response.model_dump_json(),
            status=PaymentStatus(
                payment_id=payment.payment_id,
                decision=decision,
                verdict=_VERDICT[decision],
                score=response.score,
                model_version=model.version,
                reasons=why,
                dialogue=ref,
                decided_at=now,
                verdict_at=None if decision == "challenge" else now,
            ),
            customer_id=payment.customer.id,
            merchant_id=facts.merchant_id,
            merchant_name=payment.merchant.name,
            terminal_id=facts.terminal_id,
            occurred_at=payment.occurred_at,
            amount_minor=payment.amount.value,
            currency=payment.amount.currency,
            channel=payment.channel,
            propensity=action.propensity,
            fingerprint=context.fingerprint,
        )
        await self._commit(payment, record, vector, dialogue, now)
        return record

    async def _commit(
        self,
        payment: Payment,
        record: PaymentRecord,
        vector: list[float],
        dialogue: DialogueRecord | None,
        now: datetime,
    ) -> None:
        status = record.status
        model = self._slot.model
        events: list[Any] = [
            DecisionEvent(
                event_id=f"decision:{payment.payment_id}",
                at=now,
                customer_id=record.customer_id,
                payment_id=payment.payment_id,
                occurred_at=payment.occurred_at,
                decision=status.decision,
                score=status.score,
                model_version=status.model_version,
                reasons=[r.code for r in status.reasons],
                features={
                    name: None if math.isnan(v) else v
                    for name, v in zip(model.feature_names, vector, strict=True)
                },
                amount_minor=record.amount_minor,
                currency=record.currency,
                merchant_id=record.merchant_id,
                terminal_id=record.terminal_id,
                channel=record.channel,
                propensity=record.propensity,
            )
        ]
        change = Change(payment=(payment.payment_id, record), dialogue=dialogue, events=events)
        if dialogue is not None:
            events.append(self._engine.event(dialogue, "created", now))
            change.challenge = (record.customer_id, payment.occurred_at.timestamp())
        await self._store.commit(change)
        self._metrics.decisions.labels(status.decision).inc()
        self._on_commit()
        if dialogue is not None:
            self._spawn(self._engine.deliver(dialogue))


_VERDICT: dict[Decision, Verdict] = {
    "allow": "released",
    "challenge": "pending",
    "review": "review",
    "decline": "blocked",
}
