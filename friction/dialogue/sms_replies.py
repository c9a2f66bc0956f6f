"""An SMS reply: which open question it answers, if any, and what to text back.

A text names no tenant and no payment: only the phone it came from. One phone may
have several questions open at once (two payments, two banks that both text from
our number), and a reply must never answer a question the customer was not asked
about in the message they answer. So: a lone open question takes a clear answer; with
several, each SMS after the first carried its own reference ("reply YES 4821") and
only an answer with a reference counts; a bare answer gets the list of open payments
and their references back, and nothing is decided. STOP and START concern the
number (every tenant's texts come from it), HUMAN outside a question contests the
latest automatic decline (GDPR Art. 22).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from friction.dialogue.engine import DialogueEngine
from friction.dialogue.ladder import PHONE_CHANNELS
from friction.dialogue.reach import OPT_OUT, Reach
from friction.dialogue.references import answered, how_to_answer, which
from friction.dialogue.replies import parse_reply
from friction.dialogue.templates import render
from friction.domain.dialogue import Intent, Reply
from friction.domain.privacy import mask_phone
from friction.domain.records import Change, Mark
from friction.ports import RecordStore

log = logging.getLogger(__name__)
YEAR_S = 400 * 86_400.0
REPLAY_MARK_S = 2 * 86_400.0
Contest = Callable[[str, datetime, list[Mark]], Awaitable[str]]
"""``(phone, now, marks) -> reply text``: a customer asks for a person outside a dialogue."""


class SmsReplies:
    """Routes an SMS reply to the open question it answers (the review desk's contest path
    for "HUMAN" outside any)."""

    def __init__(
        self,
        engine: DialogueEngine,
        store: RecordStore,
        reach: Reach,
        contest: Contest | None = None,
    ) -> None:
        self._engine = engine
        self._store = store
        self._reach = reach
        self._contest = contest

    async def reply(self, phone: str, body: str, message_id: str | None = None) -> str:
        """Act on a text from ``phone``; returns the text to answer with ('' for none)."""
        now = datetime.now(UTC)
        seen = _digest(message_id) if message_id else None
        if seen and await self._store.get_mark("inbound", seen, now.timestamp()):
            return ""  # a replayed webhook: already handled
        ref = self._reach.phone_ref(phone)
        parsed = parse_reply(
            body, opted_out=await self._store.get_mark(OPT_OUT, ref, now.timestamp())
        )
        marks = [Mark("inbound", seen, now.timestamp() + REPLAY_MARK_S)] if seen else []
        if parsed.intent in {Intent.STOP, Intent.START}:
            return await self._opt(phone, parsed.intent, now, marks)
        waiting = [
            d
            for d in await self._store.open_dialogues_for_phone(phone)
            if d.channel in PHONE_CHANNELS and d.expires_at > now
        ]
        if not waiting:
            return await self._unasked(phone, parsed, now, marks)
        target = answered(waiting, parsed)
        if target is None:  # a bare answer to several questions, or an unknown reference
            if marks:
                await self._engine.commit(Change(marks=marks))
            return which(waiting)
        said, asks = await self._engine.turn(
            target.id, parsed.intent, now, via=target.channel, marks=marks
        )
        return f"{said} {how_to_answer(target, len(waiting) > 1)}" if asks else said

    async def _unasked(self, phone: str, parsed: Reply, now: datetime, marks: list[Mark]) -> str:
        """A text while no question is open: a contest, a call for help, or nothing."""
        if parsed.intent is Intent.HUMAN and self._contest is not None:
            return await self._contest(phone, now, marks)
        log.info("sms from %s ignored: no open dialogue", mask_phone(phone))
        if marks:
            await self._engine.commit(Change(marks=marks))
        return render("help", None).text if parsed.intent is Intent.HELP else ""

    async def _opt(self, phone: str, intent: Intent, now: datetime, marks: list[Mark]) -> str:
        """STOP: no more SMS, open SMS dialogues climb the ladder (never approve). START: back."""
        until = now.timestamp() + (YEAR_S if intent is Intent.STOP else 0.0)
        opt_out = Mark(OPT_OUT, self._reach.phone_ref(phone), until)
        await self._engine.commit(Change(marks=[*marks, opt_out]))
        if intent is Intent.START:
            return render("opted_in", None).text
        for dialogue in await self._store.open_dialogues_for_phone(phone):
            if dialogue.channel in PHONE_CHANNELS:
                async with self._engine.lock:
                    current = await self._store.get_dialogue(dialogue.id)
                    if current is None or not current.is_open:
                        continue
                    if await self._engine.climb(current, now, "opted_out") is None:
                        await self._engine.end(current, "opted_out", now)
        return render("opted_out", None).text


def _digest(message_id: str) -> str:
    """What is kept of an inbound MessageSid to spot replays: a hash, never the outside text."""
    return hashlib.sha256(message_id.encode()).hexdigest()[:32]
