"""Dialogue engine: opens a conversation for a challenged payment and acts on its end.

A dialogue walks a flow (``friction.dialogue.flows``) on a ladder of channels
(``friction.dialogue.ladder``). Every transition is committed to the store,
with its events, *before* anything is sent or decided on it, so a restart
resumes where it stopped: open dialogues are reloaded and the timers that
escalate or expire them run again. One lock serialises transitions: two racing answers
cannot both count."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from friction.aio import cancelled, checkpoint
from friction.dialogue.conclusion import Ending, conclude
from friction.dialogue.flows import Flow, advance, expire, start
from friction.dialogue.hub import Hub
from friction.dialogue.notices import send_declined
from friction.dialogue.reach import confirmations
from friction.dialogue.references import addressed, new_reference
from friction.dialogue.wiring import EngineWiring
from friction.dialogue.wording import dialogue_text
from friction.domain.decision import Fallback, PaymentStatus
from friction.domain.dialogue import Intent
from friction.domain.events import DialogueEvent, LabelSource, LabelValue
from friction.domain.labels import label_change
from friction.domain.payment import Payment
from friction.domain.records import AnyEvent, Change, DialogueRecord, Mark, Preferences
from friction.errors import ChannelError, Conflict, Gone, NotFound, StoreUnavailable
from friction.ports import Channel, OutboundMessage, Records
from friction.settings import DialogueSettings

log = logging.getLogger(__name__)
SENT_RECORD_ATTEMPTS = 8
_OUTCOME_OF_ANSWER = {"yes": "confirmed", "no": "denied", "human": "asked_human"}
POLL_SECONDS = 1.0
"""Longest a long-poll goes without re-reading the store (another replica may decide)."""


class DialogueEngine:
    """Creates, delivers, advances, escalates and ends dialogues."""

    def __init__(
        self,
        settings: DialogueSettings,
        store: Records,
        channels: Mapping[str, Channel],
        flows: Mapping[str, Flow],
        wiring: EngineWiring,
    ) -> None:
        self._settings = settings
        self._store = store
        self._channels = channels
        self._flows = flows
        self._wiring = wiring
        self._lock = asyncio.Lock()

    @property
    def lock(self) -> asyncio.Lock:
        """The lock that serialises dialogue transitions (erasure takes it too)."""
        return self._lock

    @property
    def hub(self) -> Hub:
        return self._wiring.hub

    # --- opening -------------------------------------------------------------
    def create(
        self,
        payment: Payment,
        ladder: list[str],
        now: datetime,
        stored_as: str | None = None,
        flow_name: str | None = None,
        on_silence: Fallback = "blocked",
    ) -> DialogueRecord:
        """A new dialogue (committed with the decision) on the flow a rule asked for, else the
        payment kind's; silence ends it as ``on_silence``."""
        kind = "new_payee_transfer" if payment.payee else "purchase_confirmation"
        flow = self._flows[flow_name or kind]
        state, key = start(flow)
        params: dict[str, str | int | None] = {
            "amount_minor": payment.amount.value,
            "currency": payment.amount.currency,
            "merchant": payment.merchant.name,
            "payee": payment.payee.name if payment.payee else None,
            "counterparty": payment.payee.id if payment.payee else payment.merchant.id,
            "last4": (payment.payee.account_last4 if payment.payee else None)
            or payment.instrument.last4,
        }
        record = DialogueRecord(
            id=new_dialogue_id(),
            payment_id=stored_as or payment.payment_id,
            customer_id=payment.customer.id,
            phone=payment.customer.phone,
            locale=payment.customer.locale,
            channel=ladder[0],
            state="created",
            text="",
            created_at=now,
            expires_at=now,
            flow=state,
            params=params,
            ladder=ladder,
            reference=new_reference(),
            on_silence=on_silence,
        )
        return self._asking(record, key, now, flow.steps[state.step].expires_after)

    def _asking(
        self, record: DialogueRecord, key: str, now: datetime, step_expiry: timedelta | None
    ) -> DialogueRecord:
        """The record asking ``key`` from ``now``: text, expiry and the next-rung time."""
        ttl = timedelta(seconds=self._settings.dialogue_ttl_seconds)
        expires = now + min(ttl, step_expiry) if step_expiry else now + ttl
        has_next = record.rung + 1 < len(record.ladder)
        step = timedelta(seconds=self._settings.ladder_step_seconds)
        return record.model_copy(
            update={
                "text": dialogue_text(record, key),
                "expires_at": expires,
                "next_rung_at": min(now + step, expires) if has_next else None,
            }
        )

    def event(
        self, dialogue: DialogueRecord, state: str, at: datetime, via: str | None = None
    ) -> DialogueEvent:
        """The event announcing that ``dialogue`` entered ``state`` (counted in the funnel
        under ``via``, the channel an answer came from, else the rung that asks now)."""
        channel = via or dialogue.channel
        self._wiring.metrics.dialogues.labels(state, channel, dialogue.locale[:2]).inc()
        return DialogueEvent(
            event_id=f"dialogue:{dialogue.id}:{state}:{dialogue.rung}:{dialogue.flow.turns}",
            at=at,
            customer_id=dialogue.customer_id,
            payment_id=dialogue.payment_id,
            dialogue_id=dialogue.id,
            state=state,
            channel=channel,
            locale=dialogue.locale,
            answer=dialogue.answer,
        )

    # --- sending -------------------------------------------------------------
    async def deliver(self, dialogue: DialogueRecord) -> None:
        """Send the current prompt on the current rung; a failure climbs the ladder."""
        dialogue, text = await addressed(self._store, dialogue)
        message = OutboundMessage(
            dialogue.id, dialogue.customer_id, dialogue.phone, dialogue.locale, text
        )
        try:
            message_id = await self._channels[dialogue.channel].send(message)
        except ChannelError as error:
            log.warning("dialogue %s: %s failed: %s", dialogue.id, dialogue.channel, error.message)
            await self.delivery_failed(dialogue.id, dialogue.channel)
            return
        for attempt in range(SENT_RECORD_ATTEMPTS):  # sent once; recording it may need retries
            try:
                await self._record_sent(dialogue, message_id)
                return
            except StoreUnavailable:
                log.warning("dialogue %s sent; store down, recording later", dialogue.id)
                await asyncio.sleep(min(2.0**attempt, 10.0))
        log.error("dialogue %s: sent but never recorded as sent", dialogue.id)

    async def _record_sent(self, dialogue: DialogueRecord, message_id: str) -> None:
        async with self._lock:
            current = await self._store.get_dialogue(dialogue.id)
            if current is None or not current.is_open or current.channel != dialogue.channel:
                return
            ids = [*current.message_ids, message_id]
            update = {"state": "sent", "message_ids": ids, "reference": dialogue.reference}
            sent = current.model_copy(update=update)
            events: list[AnyEvent] = [self.event(sent, "sent", _now())]
            await self.commit(Change(dialogue=sent, events=events))

    async def delivery_status(self, message_id: str, status: str) -> None:
        """A channel's delivery report (Twilio status callback): delivered or failed."""
        found = [d for d in await self._store.open_dialogues() if message_id in d.message_ids]
        if not found:
            return
        dialogue = found[0]
        if status in {"failed", "undelivered"}:
            await self.delivery_failed(dialogue.id, dialogue.channel)
        elif status == "delivered":
            async with self._lock:
                current = await self._store.get_dialogue(dialogue.id)
                if current is not None and current.state == "sent":
                    done = current.model_copy(update={"state": "delivered"})
                    events: list[AnyEvent] = [self.event(done, "delivered", _now())]
                    await self.commit(Change(dialogue=done, events=events))

    async def delivery_failed(self, dialogue_id: str, channel: str) -> None:
        """Move to the next rung, or end in review if there is none."""
        async with self._lock:
            dialogue = await self._store.get_dialogue(dialogue_id)
            if dialogue is None or not dialogue.is_open or dialogue.channel != channel:
                return
            moved = await self.climb(dialogue, _now(), "failed")
            if moved is None:
                await self.end(dialogue, "failed", _now())

    async def climb(
        self, dialogue: DialogueRecord, now: datetime, why: str
    ) -> DialogueRecord | None:
        """Ask on the next rung (persisted first, then sent); None if there is none."""
        if dialogue.rung + 1 >= len(dialogue.ladder):
            return None
        rung = dialogue.rung + 1
        moved = dialogue.model_copy(
            update={"rung": rung, "channel": dialogue.ladder[rung], "state": "created"}
        )
        has_next = rung + 1 < len(moved.ladder)
        step = timedelta(seconds=self._settings.ladder_step_seconds)
        moved = moved.model_copy(
            update={"next_rung_at": min(now + step, moved.expires_at) if has_next else None}
        )
        events: list[AnyEvent] = [
            self.event(dialogue, f"escalated_{why}", now),
            self.event(moved, "created", now),
        ]
        await self.commit(Change(dialogue=moved, events=events))
        self._wiring.spawn(self.deliver(moved))
        return moved

    # --- answers -------------------------------------------------------------
    async def turn(
        self,
        dialogue_id: str,
        intent: Intent,
        now: datetime,
        *,
        via: str,
        marks: list[Mark] | None = None,
    ) -> tuple[str, bool]:
        """Advance the flow with one reply that came ``via`` a channel; persist; the next
        prompt or the closing line, and whether it is a yes/no question."""
        async with self._lock:
            dialogue = await self._store.get_dialogue(dialogue_id)
            if dialogue is None:
                raise NotFound(f"no dialogue {dialogue_id}")
            if not dialogue.is_open:
                raise Conflict(f"dialogue {dialogue_id} is already {dialogue.state}")
            if dialogue.expires_at <= now:
                raise Gone(f"dialogue {dialogue_id} expired; the answer came too late")
            flow = self._flows[dialogue.flow.flow]
            step = advance(flow, dialogue.flow, intent)
            answered = intent in {Intent.YES, Intent.NO, Intent.HUMAN}
            answer = str(intent) if answered else dialogue.answer
            moved = dialogue.model_copy(
                update={"flow": step.state, "answer": answer, "answered_via": via}
            )
            text = dialogue_text(moved, step.prompt)
            if step.outcome is not None and step.outcome != "expired":
                ending: Ending = "opted_out" if step.outcome == "opted_out" else step.outcome
                # the closing line stays on the record: the review transcript shows it
                await self.end(moved.model_copy(update={"text": text}), ending, now, marks or [])
                return text, False
            waiting = self._asking(moved, step.prompt, now, step.expires_after)
            state = "reasked" if intent is Intent.UNCLEAR else "answered_step"
            event = self.event(waiting, state, now, via)
            await self.commit(Change(dialogue=waiting, events=[event], marks=marks or []))
            self._wiring.hub.customer_changed(dialogue.customer_id)
            return text, step.asks

    async def end(
        self,
        dialogue: DialogueRecord,
        ending: Ending,
        now: datetime,
        marks: list[Mark] | None = None,
    ) -> None:
        """Conclude (verdict, label, events) — caller holds the lock."""
        payment = await self._store.get_payment(dialogue.payment_id)
        if payment is None:
            raise NotFound(f"no payment {dialogue.payment_id} for dialogue {dialogue.id}")
        change, status = conclude(payment, dialogue, ending, now)
        change.marks.extend(marks or [])
        self._wiring.on_ending(change, dialogue, ending, now)  # a person, or contestable
        if ending == "released":
            counterparty = str(dialogue.params.get("counterparty") or payment.merchant_id)
            change.marks.extend(confirmations(self._settings, payment, counterparty, now))
        ended = change.dialogue
        assert ended is not None  # conclude always ends the dialogue
        via = ended.answered_via if ended.state == "answered" else None
        ending_event = self.event(ended, ended.state, now, via)
        change.events.insert(0, ending_event.model_copy(update={"verdict": status.verdict}))
        if via is not None:
            waited = (now - dialogue.created_at).total_seconds()
            language = dialogue.locale[:2]
            self._wiring.metrics.time_to_answer.labels(via, language).observe(waited)
            outcome = _OUTCOME_OF_ANSWER.get(ended.answer or "", "unclear")
            self._wiring.metrics.dialogues.labels(outcome, via, language).inc()
        await self.commit(change)
        self._wiring.announce(payment, status)

    # --- timers --------------------------------------------------------------
    async def tick(self) -> int:
        """Escalate dialogues whose rung timed out, end those past expiry; returns changes."""
        now = _now()
        changed = 0
        for dialogue in await self._store.open_dialogues():
            if dialogue.expires_at <= now or (
                dialogue.next_rung_at is not None and dialogue.next_rung_at <= now
            ):
                async with self._lock:
                    current = await self._store.get_dialogue(dialogue.id)
                    if current is not None and current.is_open:
                        changed += await self._timeout(current, now)
        return changed

    async def _timeout(self, dialogue: DialogueRecord, now: datetime) -> int:
        if dialogue.expires_at > now:
            return 0 if await self.climb(dialogue, now, "no_answer") is None else 1
        step = expire(self._flows[dialogue.flow.flow], dialogue.flow)
        ending: Ending = "expired" if step.outcome in (None, "expired") else step.outcome
        await self.end(dialogue.model_copy(update={"flow": step.state}), ending, now)
        return 1

    async def run_timers(self) -> None:
        """Tick forever (resumes after a restart: all state is in the store)."""
        down = False  # the store being away is one warning per outage, not a traceback a tick
        while True:
            checkpoint()  # a library may have swallowed our cancellation
            try:
                await self.tick()
                if down:
                    log.info("dialogue timers: the store is back")
                down = False
            except StoreUnavailable as error:
                if not down:
                    log.warning("dialogue timers paused, store unavailable: %s", error.message)
                down = True
            except Exception:
                if cancelled():
                    raise
                log.exception("dialogue timer sweep failed; retrying")
            await asyncio.sleep(self._settings.expiry_check_seconds)

    async def notify_declined(self, payment: Payment, ladder: list[str], stored_as: str) -> None:
        """Tell the customer of an automatic decline and how to reach a person (spawned after
        the decision's commit, never on the scoring path)."""
        await send_declined(self._channels, payment, ladder, stored_as)

    # --- verdicts and labels -------------------------------------------------
    async def status(self, payment_id: str, wait: float = 0.0) -> PaymentStatus:
        """The payment's status; with ``wait`` > 0, hold until it leaves ``pending``."""
        record = await self._store.get_payment(payment_id)
        if record is None:
            raise NotFound(f"no payment {payment_id}")
        deadline = asyncio.get_running_loop().time() + wait
        while record.status.verdict == "pending":
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            # The hub wakes us at once, but only for verdicts reached in this process and
            # only if it landed after we started listening (a store read can be overtaken);
            # re-reading the store every second bounds both misses.
            await self._wiring.hub.wait_payment(payment_id, min(left, POLL_SECONDS))
            record = await self._store.get_payment(payment_id) or record
        return record.status

    async def set_preferences(self, customer_id: str, preferences: Preferences) -> Preferences:
        """Store a customer's channel order and language (used from the next challenge on)."""
        await self.commit(Change(preferences=(customer_id, preferences)))
        return preferences

    async def record_label(
        self, payment_id: str, label: LabelValue, source: LabelSource
    ) -> PaymentStatus:
        """Late truth (chargeback, fraud report, analyst) for a scored payment."""
        async with self._lock:
            payment = await self._store.get_payment(payment_id)
            if payment is None:
                raise NotFound(f"no payment {payment_id}; score it first")
            await self.commit(label_change(payment, label, source, _now()))
            return payment.status

    async def commit(self, change: Change) -> None:
        await self._store.commit(change)
        self._wiring.on_commit()


ID_LETTERS = "abcdefghjkmnpqrstuvwxyz"
"""Dialogue ids are letters only: they travel in URLs, and a run of random hex digits is
now and then a Luhn-valid card number, which the card guard (rightly) refuses."""


def new_dialogue_id() -> str:
    """``dlg_`` and 20 random letters (90 bits)."""
    return "dlg_" + "".join(secrets.choice(ID_LETTERS) for _ in range(20))


def _now() -> datetime:
    return datetime.now(UTC)
