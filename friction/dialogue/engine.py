"""Dialogue engine: opens a conversation for a challenged payment and acts on its end.

A dialogue is a small state machine (created → sent → answered | expired |
opted_out | failed). Every transition is committed to the store, with its
events, *before* anything is sent or decided on it, so a restart resumes where
it stopped: open dialogues are reloaded and their expiry timers run again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from friction.api.schemas import Payment, PaymentStatus, Prompt
from friction.dialogue import tokens
from friction.dialogue.channels.console import mask_phone
from friction.dialogue.conclusion import Outcome, conclude
from friction.dialogue.replies import parse_reply
from friction.dialogue.templates import render
from friction.errors import ChannelError, Conflict, Gone, NotFound
from friction.events.schemas import DialogueEvent, LabelSource, LabelValue
from friction.labels import label_change
from friction.metrics import Metrics
from friction.ports import Channel, OutboundMessage, Store
from friction.records import Change, DialogueRecord, DialogueState
from friction.settings import Settings

log = logging.getLogger(__name__)
PHONE_CHANNELS = frozenset({"sms", "console"})


class DialogueEngine:
    """Creates, delivers, answers and expires dialogues."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        channels: Mapping[str, Channel],
        metrics: Metrics,
        on_commit: Callable[[], None],
    ) -> None:
        self._settings = settings
        self._store = store
        self._channels = channels
        self._metrics = metrics
        self._on_commit = on_commit
        self._secret = settings.token_secret.get_secret_value().encode()
        self._lock = asyncio.Lock()  # serialises transitions: one answer wins

    def channel_for(self, payment: Payment) -> str | None:
        """First rung of the ladder that can reach this customer, if any."""
        for name in self._settings.default_channels:
            if name in PHONE_CHANNELS and not payment.customer.phone:
                continue
            if name in self._channels:
                return name
        return None

    def create(self, payment: Payment, channel: str, now: datetime) -> DialogueRecord:
        """A new dialogue for a challenged payment (committed by the caller with the decision)."""
        rendered = render(
            "purchase_confirmation",
            payment.customer.locale,
            amount_minor=payment.amount.value,
            currency=payment.amount.currency,
            merchant=payment.merchant.name,
            last4=payment.instrument.last4,
        )
        return DialogueRecord(
            id=f"dlg_{uuid.uuid4().hex[:20]}",
            payment_id=payment.payment_id,
            customer_id=payment.customer.id,
            phone=payment.customer.phone,
            locale=payment.customer.locale,
            channel=channel,
            state="created",
            text=rendered.text,
            created_at=now,
            expires_at=now + timedelta(seconds=self._settings.dialogue_ttl_seconds),
        )

    def event(self, dialogue: DialogueRecord, state: DialogueState, at: datetime) -> DialogueEvent:
        """The event announcing that ``dialogue`` entered ``state``."""
        self._metrics.dialogues.labels(state, dialogue.channel, dialogue.locale[:2]).inc()
        return DialogueEvent(
            event_id=f"dialogue:{dialogue.id}:{state}",
            at=at,
            customer_id=dialogue.customer_id,
            payment_id=dialogue.payment_id,
            dialogue_id=dialogue.id,
            state=state,
            channel=dialogue.channel,
            locale=dialogue.locale,
            answer=dialogue.answer,
        )

    async def deliver(self, dialogue: DialogueRecord) -> None:
        """Send the prompt on its channel and record that it went (or failed)."""
        channel = self._channels[dialogue.channel]
        message = OutboundMessage(
            dialogue.id, dialogue.customer_id, dialogue.phone, dialogue.locale, dialogue.text
        )
        try:
            await channel.send(message)
        except ChannelError as error:
            log.warning("dialogue %s: %s failed: %s", dialogue.id, dialogue.channel, error.message)
            await self._finish(dialogue.id, "failed", None, _now())
            return
        async with self._lock:
            current = await self._store.get_dialogue(dialogue.id)
            if current is None or current.state != "created":
                return
            sent = current.model_copy(update={"state": "sent"})
            await self._commit(Change(dialogue=sent, events=[self.event(sent, "sent", _now())]))

    def prompt(self, dialogue: DialogueRecord) -> Prompt:
        """The in-app view of an open dialogue, with a fresh answer token."""
        expires_ts = int(dialogue.expires_at.timestamp())
        language = dialogue.locale[:2]
        return Prompt(
            dialogue_id=dialogue.id,
            payment_id=dialogue.payment_id,
            text=dialogue.text,
            locale=dialogue.locale,
            direction="rtl" if language in {"ar", "he", "fa", "ur"} else "ltr",
            expires_at=dialogue.expires_at,
            token=tokens.mint(self._secret, dialogue.id, dialogue.customer_id, expires_ts),
        )

    async def prompts_for(self, customer_id: str) -> list[Prompt]:
        """Open prompts of one customer, newest first."""
        mine = [d for d in await self._store.open_dialogues() if d.customer_id == customer_id]
        return [self.prompt(d) for d in sorted(mine, key=lambda d: d.created_at, reverse=True)]

    async def answer(self, dialogue_id: str, token: str, answer: str) -> PaymentStatus:
        """An in-app answer: token-checked, single use."""
        dialogue = await self._store.get_dialogue(dialogue_id)
        if dialogue is None:
            raise NotFound(f"no dialogue {dialogue_id}")
        now = _now()
        tokens.check(self._secret, token, dialogue.id, dialogue.customer_id, now.timestamp())
        outcome: Outcome = "confirmed" if answer == "yes" else "denied"
        return await self._finish(dialogue_id, outcome, answer, now)

    async def reply(self, phone: str, body: str) -> str:
        """An SMS reply from ``phone``: counts only for that number's open dialogue."""
        now = _now()
        candidates = [
            d for d in await self._store.open_dialogues()
            if d.phone == phone and d.channel in PHONE_CHANNELS and d.expires_at > now
        ]  # fmt: skip
        if not candidates:
            log.info("sms from %s ignored: no open dialogue", mask_phone(phone))
            return "ignored"
        dialogue = max(candidates, key=lambda d: d.created_at)
        intent = parse_reply(body)
        if intent in {"yes", "no"}:
            await self._finish(
                dialogue.id, "confirmed" if intent == "yes" else "denied", intent, now
            )
        elif intent == "stop":
            await self._finish(dialogue.id, "opted_out", intent, now)
        return str(intent)

    async def record_label(
        self, payment_id: str, label: LabelValue, source: LabelSource
    ) -> PaymentStatus:
        """Late truth (chargeback, fraud report, analyst) for a scored payment."""
        async with self._lock:
            payment = await self._store.get_payment(payment_id)
            if payment is None:
                raise NotFound(f"no payment {payment_id}; score it first")
            await self._commit(label_change(payment_id, payment, label, source, _now()))
            return payment.status

    async def expire_due(self) -> int:
        """Close every open dialogue past its expiry; returns how many."""
        now = _now()
        due = [d for d in await self._store.open_dialogues() if d.expires_at <= now]
        for dialogue in due:
            await self._finish(dialogue.id, "expired", None, now)
        return len(due)

    async def run_timers(self) -> None:
        """Expire due dialogues forever (resumes after a restart: state is in the store)."""
        while True:
            try:
                await self.expire_due()
            except Exception:
                log.exception("expiry sweep failed; retrying")
            await asyncio.sleep(self._settings.expiry_check_seconds)

    async def _finish(
        self, dialogue_id: str, outcome: Outcome, answer: str | None, now: datetime
    ) -> PaymentStatus:
        async with self._lock:
            dialogue = await self._store.get_dialogue(dialogue_id)
            if dialogue is None:
                raise NotFound(f"no dialogue {dialogue_id}")
            if not dialogue.is_open:
                raise Conflict(f"dialogue {dialogue_id} is already {dialogue.state}")
            if outcome in {"confirmed", "denied"} and dialogue.expires_at <= now:
                raise Gone(f"dialogue {dialogue_id} expired; the answer came too late")
            payment = await self._store.get_payment(dialogue.payment_id)
            if payment is None:
                raise NotFound(f"no payment {dialogue.payment_id} for dialogue {dialogue_id}")
            change, status = conclude(self._settings, payment, dialogue, outcome, answer, now)
            ended = change.dialogue
            if ended is not None:
                change.events.insert(0, self.event(ended, ended.state, now))
                if outcome in {"confirmed", "denied"}:
                    waited = (now - dialogue.created_at).total_seconds()
                    language = dialogue.locale[:2]
                    self._metrics.time_to_answer.labels(dialogue.channel, language).observe(waited)
            await self._commit(change)
            return status

    async def _commit(self, change: Change) -> None:
        await self._store.commit(change)
        self._on_commit()


def _now() -> datetime:
    return datetime.now(UTC)
