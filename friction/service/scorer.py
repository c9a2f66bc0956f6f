"""The scoring path of ``POST /v1/score``: idempotency, features, model, policy, commit.

Everything here is on the gateway's latency budget, so it does the minimum:
one store call for features, one in-process model evaluation, one commit that
also queues the events, and it never waits for a customer or a channel —
delivery of a challenge runs in the background after the answer is given.
If the store cannot be reached, the decision is taken in degraded mode
(``friction.service.degraded``) rather than failing the gateway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from friction.dialogue.engine import DialogueEngine
from friction.dialogue.reach import Reach
from friction.domain.decision import Reason
from friction.domain.events import RulesTrace
from friction.domain.facts import facts_of
from friction.domain.payment import Payment
from friction.domain.records import AnyEvent, Change, DialogueRecord, PaymentRecord
from friction.domain.tenancy import DEFAULT_TENANT, scope_payment, scoped
from friction.errors import Conflict, InProgress, StoreUnavailable
from friction.metrics import Metrics
from friction.ports import DecisionStore
from friction.rules.rules import RuleSet
from friction.scoring.explain import explain
from friction.scoring.features import FEATURE_NAMES
from friction.scoring.policy import Action, PolicyInput, choose
from friction.service.degraded import STORE_DOWN, degraded_decision, request_only_features
from friction.service.model_slot import ModelSlot
from friction.service.outcome import Scored, event_of, record_of
from friction.service.ruling import count, ruled, trace_of
from friction.service.spill import Answer, AnswerMemory, Spilled, SpillJournal
from friction.settings import DecisionSettings

log = logging.getLogger(__name__)
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


OnDecision = Callable[[Change, Payment, Mapping[str, float | None]], None]
"""Adds to a decision's change what it calls for (a review item, a contest mark)."""


@dataclass(frozen=True, slots=True)
class ScorerWiring:
    """What the scorer reports to and hands work to (built by the composition root)."""

    metrics: Metrics
    on_commit: Callable[[], None]
    """Wakes the outbox relay after a commit."""
    spawn: Spawn
    on_decision: OnDecision
    """The review layer's intake (``review.intake.decision_hook``)."""
    rules: Callable[[str], RuleSet | None] = lambda tenant: None
    """The tenant's rules and lists (``service.rule_sets.RuleSets.get``): no store read."""


class Scorer:
    """Scores payments and records decisions, exactly once per tenant and ``payment_id``."""

    def __init__(
        self,
        settings: DecisionSettings,
        store: DecisionStore,
        slot: ModelSlot,
        engine: DialogueEngine,
        reach: Reach,
        spill: SpillJournal,
        wiring: ScorerWiring,
    ) -> None:
        self._settings = settings
        self._store = store
        self._slot = slot
        self._engine = engine
        self._reach = reach
        self._metrics = wiring.metrics
        self._on_commit = wiring.on_commit
        self._spawn = wiring.spawn
        self._on_decision = wiring.on_decision
        self._rules = wiring.rules
        self._spill = spill
        self._inflight: dict[str, asyncio.Future[PaymentRecord]] = {}
        self._answers = AnswerMemory(settings.recent_answers)
        self._store_down = False  # one warning an outage, not a line a degraded answer
        self._window_s = settings.friction_window_hours * 3600

    @property
    def model_version(self) -> str:
        """Version of the model being served."""
        return self._slot.model.version

    @property
    def shadow_version(self) -> str | None:
        """Version of the challenger scored in shadow, if one is loaded."""
        shadow = self._slot.shadow
        return None if shadow is None else shadow.version

    def forget_degraded(self, spilled: Spilled) -> None:
        """A spilled decision is in the store: its idempotency is the store's again. A
        challenge's prompt goes out now, unless someone already sent it."""
        self._answers.stored(spilled.key)
        if spilled.dialogue is not None:
            self._spawn(self._deliver_created(spilled.dialogue))

    async def _deliver_created(self, dialogue: DialogueRecord) -> None:
        current = await self._store.get_dialogue(dialogue.id)
        if current is not None and current.state == "created":
            await self._engine.deliver(current)

    async def score(self, payment: Payment, body_hash: str, tenant: str = DEFAULT_TENANT) -> str:
        """The JSON response for a payment; a retry with the same body gets the same bytes.

        Everything below works on the tenant's world: the payment's state ids are scoped.
        """
        key = scoped(tenant, payment.payment_id)
        record = await self._in_process(key)
        if record is None:
            record = await self._once(tenant, payment, body_hash)
        if record.body_hash != body_hash:
            raise Conflict(
                f"payment_id {payment.payment_id} was already scored with a different body; "
                "use a new payment_id for a new payment"
            )
        return record.response

    async def _in_process(self, key: str) -> PaymentRecord | Answer | None:
        """A twin's decision known here: being made, spilled and not yet in the store, or
        among the latest answers (a gateway retries when the store is slow, so a retry
        must not need the store to get the first answer). Older ones come back from
        ``observe``, in the same round trip as a new payment's features.
        """
        in_flight = self._inflight.get(key)
        if in_flight is not None:
            return await asyncio.shield(in_flight)
        return self._answers.get(key)

    async def _once(self, tenant: str, local: Payment, body_hash: str) -> PaymentRecord:
        """Decide once even if the same payment arrives many times at once (``local``: the
        payment as the tenant sent it; rules read it so, the core works on it scoped)."""
        key = scoped(tenant, local.payment_id)
        payment = scope_payment(tenant, local)
        future: asyncio.Future[PaymentRecord] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            try:
                record = await self._decide(tenant, payment, body_hash, local)
            except StoreUnavailable as error:
                if not self._store_down:
                    log.warning("store unavailable, deciding degraded: %s", error.message)
                self._store_down = True
                record = self._decide_degraded(tenant, payment, body_hash, local)
            future.set_result(record)
            return record
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it themselves
            raise
        finally:
            if self._inflight.get(key) is future:
                del self._inflight[key]

    async def _decide(
        self, tenant: str, payment: Payment, body_hash: str, local: Payment
    ) -> PaymentRecord:
        key = scoped(tenant, payment.payment_id)
        facts = facts_of(payment)
        observation = await self._store.observe(facts, self._window_s, key)
        if isinstance(observation, PaymentRecord):  # decided before: a retry
            return observation
        if observation is None:
            return await self._twins_decision(key, payment.payment_id)
        vector = observation.features
        score, why = explain(self._slot.model, vector, low_risk_below=self._settings.challenge_at)
        context = await self._reach.context(payment, facts.counterparty_id)
        channel = context.ladder[0] if context.ladder else None
        given = PolicyInput(
            score,
            payment.amount.value,
            observation.recent_challenges,
            channel is not None,
            payment_id=payment.payment_id,
            channel=payment.channel,
            trusted=context.trusted,
            currency=payment.amount.currency,
        )
        fit = self._slot.policy
        action = RETRY_ALLOWED if context.confirmed_retry else choose(self._settings, given, fit)
        action, trace, flow = self._apply_rules(tenant, local, vector, score, given, action)
        why = _reasons(why, action, trace)
        now = datetime.now(UTC)
        dialogue = None
        if action.decision == "challenge" and channel is not None:
            dialogue = self._engine.create(
                payment, context.ladder, now, stored_as=key, flow_name=flow,
                on_silence=action.on_silence,
            )  # fmt: skip
        used = observation.recent_challenges + (1 if dialogue else 0)
        scored = Scored(tenant, payment, facts, body_hash, vector, score, why, action,
                        context.fingerprint, used, rules=trace, local=local)  # fmt: skip
        record = record_of(scored, dialogue, now, self._slot.model, self._settings)
        await self._commit(scored, record, dialogue, now)
        notify = action.decision == "decline" and self._settings.decline_notices
        if notify and context.ladder:  # told after the commit
            self._spawn(self._engine.notify_declined(payment, context.ladder, key))
        return record

    async def _twins_decision(self, key: str, payment_id: str) -> PaymentRecord:
        """The decision of the twin request that claimed ``key``, once it is stored."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.twin_wait_seconds
        pause = 0.002
        while True:
            stored = await self._store.get_payment(key)
            if stored is not None:
                return stored
            if loop.time() + pause > deadline:
                raise InProgress(
                    f"payment {payment_id} is being scored by another request; "
                    "retry with the same body in a second to get its decision"
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _decide_degraded(
        self, tenant: str, payment: Payment, body_hash: str, local: Payment
    ) -> PaymentRecord:
        """Request-only features, the configured fallback, no dialogue; spilled for later.

        Lists and rules still apply (they need no store): a block-listed card stays
        declined during an outage. A rule's challenge cannot open a dialogue here, so it
        goes to a person, as the policy's own challenges do in degraded mode."""
        facts = facts_of(payment)
        features = request_only_features(facts)
        score, why = explain(self._slot.model, features, low_risk_below=self._settings.challenge_at)
        decision = degraded_decision(self._settings, payment.channel, score)
        given = PolicyInput(score, payment.amount.value, 0, False, payment.payment_id,
                            payment.channel, currency=payment.amount.currency)  # fmt: skip
        action, trace, _ = self._apply_rules(
            tenant, local, features, score, given, Action(decision, [STORE_DOWN])
        )
        why = _reasons(why, action, trace)
        now = datetime.now(UTC)
        scored = Scored(tenant, payment, facts, body_hash, features, score, why, action,
                        degraded=True, rules=trace, local=local)  # fmt: skip
        record = record_of(scored, None, now, self._slot.model, self._settings)
        event = event_of(scored, record, now, self._slot)
        change = Change(payment=record, events=[event])
        self._on_decision(change, payment, event.features)  # review, contest
        self._spill_change(change)
        self._metrics.degraded.inc()
        return record

    def _apply_rules(
        self,
        tenant: str,
        local: Payment,
        vector: list[float],
        score: float,
        given: PolicyInput,
        action: Action,
    ) -> tuple[Action, RulesTrace | None, str | None]:
        """The action once the tenant's lists and rules have spoken, what they said, and the
        dialogue flow an acting challenge rule asks for (None: the default)."""
        rule_set = self._rules(tenant)
        if rule_set is None:
            return action, None, None
        body = local.model_dump(mode="json", exclude_none=True)
        features = dict(zip(FEATURE_NAMES, vector, strict=True))
        verdict = rule_set.evaluate(body, features, score)
        ruled_action, hit = ruled(self._settings, given, action, verdict, local.customer.locale)
        count(self._metrics, tenant, verdict, hit)
        flow = hit.flow if hit is not None and ruled_action.decision == "challenge" else None
        return ruled_action, trace_of(verdict, hit), flow

    def _spill_change(self, change: Change) -> None:
        """Journal a decision the store has not taken (or may take later), remember it."""
        spilled = Spilled.of(change)
        self._spill.append(spilled)
        self._answers.spilled(spilled.record)
        self._metrics.decisions.labels(spilled.record.status.decision).inc()
        self._metrics.spilled.inc()

    async def _commit(
        self, scored: Scored, record: PaymentRecord, dialogue: DialogueRecord | None, now: datetime
    ) -> None:
        event = event_of(scored, record, now, self._slot)
        events: list[AnyEvent] = [event]
        change = Change(payment=record, dialogue=dialogue, events=events)
        self._on_decision(change, scored.payment, event.features)  # review, contest
        if dialogue is not None:
            events.append(self._engine.event(dialogue, "created", now))
            change.challenge = (record.customer_id, scored.payment.occurred_at.timestamp())
        try:
            await self._store.commit(change)
        except StoreUnavailable:  # outcome unknown (it may land when the store resumes):
            self._spill_change(change)  # the answer is this decision, stored exactly once
            return
        self._answers.committed(record)
        if self._store_down:
            log.info("store answers again: decisions are committed, not spilled")
            self._store_down = False
        self._metrics.decisions.labels(record.status.decision).inc()
        self._on_commit()
        if dialogue is not None:
            self._spawn(self._engine.deliver(dialogue))


def _reasons(model: list[Reason], action: Action, trace: RulesTrace | None) -> list[Reason]:
    """The model's reasons, then the policy's; when a rule or a list decided, its reason
    comes first, since it is why the payment got this decision."""
    if trace is not None and trace.acted is not None:
        return [*action.reasons, *model]
    return [*model, *action.reasons]
