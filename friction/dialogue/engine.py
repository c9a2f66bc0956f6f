"""Dialogue engine: opens a conversation for a challenged payment and acts on its end.

A dialogue walks a flow (``friction.dialogue.flows``) on a ladder of channels
(``friction.dialogue.ladder``). Every transition is committed to the store,
with its events, *before* anything is sent or decided on it, so a restart
resumes where it stopped: open dialogues are reloaded and the timers that
escalate or expire them run again. One lock serialises transitions, so two
answers racing for one dialogue cannot both count.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from friction.aio import cancelled, checkpoint
from friction.api.schemas import Payment, PaymentStatus, PreferencesIn, Prompt
from friction.dialogue import tokens
from friction.dialogue.conclusion import Ending, conclude
from friction.dialogue.flows import Flow, advance, expire, start
from friction.dialogue.hub import Hub
from friction.dialogue.ladder import PHONE_CHANNELS, ladder_for
from friction.dialogue.replies import Intent
from friction.dialogue.templates import render
from friction.dialogue.wiring import EngineWiring
from friction.dialogue.wording import as_str, dialogue_text
from friction.errors import ChannelError, Conflict, Forbidden, Gone, NotFound, StoreUnavailable
from friction.events.schemas import DialogueEvent, LabelSource, LabelValue
from friction.labels import label_change
from friction.ports import Channel, OutboundMessage, Store
from friction.records import (
    AnyEvent,
    Change,
    DialogueRecord,
    Mark,
    Preferences,
)
from friction.review.intake import on_ending
from friction.settings import Settings
from friction.tenancy import local_id

log = logging.getLogger(__name__)
OPT_OUT = "sms_opt_out"
SENT_RECORD_ATTEMPTS = 8
CONFIRMED = "confirmed_fingerprint"
TRUSTED = "trusted_counterparty"
_OUTCOME_OF_ANSWER = {"yes": "confirmed", "no": "denied", "human": "asked_human"}
POLL_SECONDS = 1.0
"""Longest a long-poll goes without re-reading the store (another replica may decide)."""


class DialogueEngine:
    """Creates, delivers, advances, escalates and ends dialogues."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        channels: Mapping[str, Channel],
        flows: Mapping[str, Flow],
        wiring: EngineWiring,
    ) -> None:
        self._settings = settings
        self._store = store
        self._channels = channels
        self._flows = flows
        self._wiring = wiring
        self._secret = settings.token_secret.get_secret_value().encode()
        self._pseudonyms = settings.pseudonym_secret.get_secret_value().encode()
        self._lock = asyncio.Lock()

    @property
    def lock(self) -> asyncio.Lock:
        """The lock that serialises dialogue transitions (erasure takes it too)."""
        return self._lock

    @property
    def hub(self) -> Hub:
        return self._wiring.hub

    def phone_ref(self, phone: str) -> str:
        """What an opt-out is kept under: a keyed hash of the number. "STOP" must outlive an
        erasure of the customer (and hold for every tenant texting from our number), so it is
        kept, but it names nobody."""
        return hmac.new(self._pseudonyms, phone.encode(), hashlib.sha256).hexdigest()[:32]

    # --- opening -------------------------------------------------------------
    async def context(self, payment: Payment, counterparty: str) -> PaymentContext:
        """What the dialogue side knows that the policy needs: reachability, confirmations."""
        customer, phone = payment.customer.id, payment.customer.phone
        fingerprint = fingerprint_of(payment)
        marks = [(CONFIRMED, fingerprint), (TRUSTED, f"{customer}:{counterparty}")]
        if phone:
            marks.append((OPT_OUT, self.phone_ref(phone)))
        preferences, live = await self._store.preferences_and_marks(
            customer, marks, _now().timestamp()
        )
        ladder = ladder_for(self._settings.default_channels, self._channels, phone, preferences)
        if phone and live[2]:  # opted out of texts and calls: only other channels may ask
            ladder = [c for c in ladder if c not in PHONE_CHANNELS]
        return PaymentContext(ladder, fingerprint, confirmed_retry=live[0], trusted=live[1])

    def create(
        self,
        payment: Payment,
        ladder: list[str],
        now: datetime,
        locale: str | None = None,
        stored_as: str | None = None,
    ) -> DialogueRecord:
        """A new dialogue (committed by the caller together with the decision)."""
        flow = self._flows["new_payee_transfer" if payment.payee else "purchase_confirmation"]
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
            id=f"dlg_{uuid.uuid4().hex[:20]}",
            payment_id=stored_as or payment.payment_id,
            customer_id=payment.customer.id,
            phone=payment.customer.phone,
            locale=locale or payment.customer.locale,
            channel=ladder[0],
            state="created",
            text="",
            created_at=now,
            expires_at=now,
            flow=state,
            params=params,
            ladder=ladder,
            reference=new_reference(),
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
        dialogue, text = await self._addressed(dialogue)
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

    async def _addressed(self, dialogue: DialogueRecord) -> tuple[DialogueRecord, str]:
        """The text to send: on a phone that other open dialogues share, with this one's
        reference and how to answer with it (an SMS reply names no payment by itself), the
        reference drawn anew if another open dialogue of that phone has it already."""
        if dialogue.channel not in PHONE_CHANNELS or not dialogue.phone:
            return dialogue, dialogue.text
        others = [
            d
            for d in await self._store.open_dialogues_for_phone(dialogue.phone)
            if d.id != dialogue.id and d.channel in PHONE_CHANNELS
        ]
        if not others:
            return dialogue, dialogue.text
        taken = {d.reference for d in others}
        reference = dialogue.reference
        while reference in taken or not reference:
            reference = new_reference()
        dialogue = dialogue.model_copy(update={"reference": reference})
        hint = render("answer_with_reference", dialogue.locale, reference=reference).text
        return dialogue, f"{dialogue.text}\n{hint}"

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
    def prompt(self, dialogue: DialogueRecord) -> Prompt:
        """The in-app view of an open dialogue, with a fresh answer token."""
        expires_ts = int(dialogue.expires_at.timestamp())
        rtl = dialogue.locale[:2] in {"ar", "he", "fa", "ur"}
        return Prompt(
            dialogue_id=dialogue.id,
            payment_id=local_id(dialogue.payment_id),
            text=dialogue.text,
            locale=dialogue.locale,
            direction="rtl" if rtl else "ltr",
            expires_at=dialogue.expires_at,
            token=tokens.mint(self._secret, dialogue.id, dialogue.customer_id, expires_ts),
            names=[
                name
                for name in (as_str(dialogue.params.get(k)) for k in ("merchant", "payee"))
                if name and name in dialogue.text
            ],
        )

    async def prompts_for(self, customer_id: str) -> list[Prompt]:
        """Open prompts of one customer (scoped id), newest first."""
        now = _now()
        mine = [d for d in await self._store.open_dialogues_of(customer_id) if d.expires_at > now]
        return [self.prompt(d) for d in sorted(mine, key=lambda d: d.created_at, reverse=True)]

    async def answer(
        self, dialogue_id: str, token: str, answer: str, session_customer: str | None
    ) -> PaymentStatus:
        """An in-app answer: only by the dialogue's own customer's session (when one is
        required) and with the prompt's token; counted once."""
        dialogue = await self._store.get_dialogue(dialogue_id)
        if dialogue is None:
            raise NotFound(f"no dialogue {dialogue_id}")
        if session_customer is not None and session_customer != dialogue.customer_id:
            raise Forbidden("this session may not answer this question")
        now = _now()
        tokens.check(self._secret, token, dialogue.id, dialogue.customer_id, now.timestamp())
        await self.turn(dialogue_id, Intent(answer), now, via="in_app")
        return await self.status(dialogue.payment_id)

    async def turn(
        self,
        dialogue_id: str,
        intent: Intent,
        now: datetime,
        *,
        via: str,
        marks: list[Mark] | None = None,
    ) -> str:
        """Advance the flow with one reply that came ``via`` a channel; persist; answer with
        the next prompt or the closing line."""
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
                return text
            waiting = self._asking(moved, step.prompt, now, step.expires_after)
            state = "reasked" if intent is Intent.UNCLEAR else "answered_step"
            event = self.event(waiting, state, now, via)
            await self.commit(Change(dialogue=waiting, events=[event], marks=marks or []))
            self._wiring.hub.customer_changed(dialogue.customer_id)
            return text

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
        change, status = conclude(self._settings, payment, dialogue, ending, now)
        change.marks.extend(marks or [])
        on_ending(change, dialogue, ending, now, self._settings)  # a person, or contestable
        if ending == "released":
            until = now.timestamp() + self._settings.confirm_retry_seconds
            change.marks.append(Mark(CONFIRMED, payment.fingerprint, until))
            trusted_until = now.timestamp() + self._settings.trusted_days * 86_400
            counterparty = str(dialogue.params.get("counterparty") or payment.merchant_id)
            change.marks.append(
                Mark(TRUSTED, f"{payment.customer_id}:{counterparty}", trusted_until)
            )
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
        while True:
            checkpoint()  # a library may have swallowed our cancellation
            try:
                await self.tick()
            except Exception:
                if cancelled():
                    raise
                log.exception("dialogue timer sweep failed; retrying")
            await asyncio.sleep(self._settings.expiry_check_seconds)

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

    async def set_preferences(self, customer_id: str, given: PreferencesIn) -> Preferences:
        """Store a customer's channel order and language (used from the next challenge on)."""
        preferences = Preferences(channels=list(given.channels), locale=given.locale)
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


@dataclass(frozen=True, slots=True)
class PaymentContext:
    """Per payment: the channel ladder, and whether a confirmation already covers it."""

    ladder: list[str]
    fingerprint: str
    confirmed_retry: bool
    trusted: bool


def fingerprint_of(payment: Payment) -> str:
    """Same customer, instrument, amount and counterparty: the same payment retried."""
    parts = (
        payment.customer.id,
        payment.instrument.token,
        str(payment.amount.value),
        payment.amount.currency,
        payment.merchant.id,
        payment.payee.id if payment.payee else "",
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def new_reference() -> str:
    """Four random digits that name a dialogue in an SMS (``answer_with_reference``)."""
    return f"{secrets.randbelow(10_000):04d}"


def _now() -> datetime:
    return datetime.now(UTC)
