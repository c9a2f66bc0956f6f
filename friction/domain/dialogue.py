"""The words of a conversation with a customer, as every layer speaks them.

What a reply means (``Intent``, and the payment it names: ``Reply``), where a
dialogue stands in its flow (``FlowState``, persisted between replies), and what the
customer's app is shown (``Prompt``). The flow machine (``dialogue.flows``) and the
reply parser (``dialogue.replies``) live above; records and events need only these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

Outcome = Literal["released", "blocked", "review"]
FlowEnding = Literal["released", "blocked", "review", "opted_out", "expired"]
"""How a flow can end (the dialogue engine adds ``failed``: no channel delivered)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Intent(StrEnum):
    """What a reply means for the dialogue."""

    YES = "yes"
    NO = "no"
    STOP = "stop"
    START = "start"
    HELP = "help"
    HUMAN = "human"
    UNCLEAR = "unclear"


@dataclass(frozen=True, slots=True)
class Reply:
    """One reply read: what it means and which payment it names, if it names one."""

    intent: Intent
    reference: str | None = None
    """Four ASCII digits when an understood reply names exactly one code, else ``None``."""


class Turn(_Strict):
    """One reply (or a timeout, ``reply=None``) and where it led."""

    step: str
    reply: Intent | None
    then: str


class FlowState(_Strict):
    """Where a dialogue stands in its flow; stored as JSON between replies."""

    flow: str
    step: str
    attempts: int = 1
    turns: int = 0
    history: tuple[Turn, ...] = ()
    ended: FlowEnding | None = None


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
