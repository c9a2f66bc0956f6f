"""The in-app side of a dialogue: the prompts a customer's app shows, and its answers.

A prompt carries an answer token bound to the dialogue, the customer and the expiry
(``dialogue.tokens``); an answer also needs the session of the dialogue's own customer
when sessions are required (``friction.service.sessions``), so a leaked token answers nothing.
Reads go through the store's per-customer index: what one app polls costs nothing of
the other customers' open questions.
"""

from __future__ import annotations

from datetime import UTC, datetime

from friction.dialogue import tokens
from friction.dialogue.engine import DialogueEngine
from friction.dialogue.wording import as_str
from friction.domain.decision import PaymentStatus
from friction.domain.dialogue import Intent, Prompt
from friction.domain.records import DialogueRecord
from friction.domain.tenancy import local_id
from friction.errors import Forbidden, NotFound
from friction.ports import RecordStore

RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur"})


class AppPrompts:
    """Open prompts of a customer, and the answers their app sends."""

    def __init__(self, engine: DialogueEngine, store: RecordStore, secret: bytes) -> None:
        self._engine = engine
        self._store = store
        self._secret = secret

    def prompt(self, dialogue: DialogueRecord) -> Prompt:
        """The in-app view of an open dialogue, with a fresh answer token."""
        expires_ts = int(dialogue.expires_at.timestamp())
        return Prompt(
            dialogue_id=dialogue.id,
            payment_id=local_id(dialogue.payment_id),
            text=dialogue.text,
            locale=dialogue.locale,
            direction="rtl" if dialogue.locale[:2] in RTL_LANGUAGES else "ltr",
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
        now = datetime.now(UTC)
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
        now = datetime.now(UTC)
        tokens.check(self._secret, token, dialogue.id, dialogue.customer_id, now.timestamp())
        await self._engine.turn(dialogue_id, Intent(answer), now, via="in_app")
        return await self._engine.status(dialogue.payment_id)
