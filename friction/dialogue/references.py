"""How a question is answered by text, and named when a phone has several.

Questions are stored without instructions (an app shows buttons, not "reply YES or
NO"); a text channel adds how to answer. A text carries no thread: when two questions
wait on one phone (two payments, or two banks texting from our number), "YES" alone
cannot say which it answers. So each SMS asked while another question is open on that
phone ends with its own four digits ("reply YES 4821 or NO 4821"), drawn so that no two
open questions of a phone share them; a reply counts for a question only if it names
it, or if it is the only one.
"""

from __future__ import annotations

import secrets

from friction.dialogue.ladder import PHONE_CHANNELS
from friction.dialogue.templates import render
from friction.dialogue.wording import as_int, as_str
from friction.domain.dialogue import Intent, Reply
from friction.domain.records import DialogueRecord
from friction.ports import RecordStore


def new_reference() -> str:
    """Four random digits that name a dialogue in an SMS."""
    return f"{secrets.randbelow(10_000):04d}"


def how_to_answer(dialogue: DialogueRecord, several: bool) -> str:
    """The line a text channel adds to a question: with its reference when ``several``."""
    if several and dialogue.reference:
        return render("answer_yes_no_reference", dialogue.locale, reference=dialogue.reference).text
    return render("answer_yes_no", dialogue.locale).text


async def addressed(store: RecordStore, dialogue: DialogueRecord) -> tuple[DialogueRecord, str]:
    """The dialogue and the text to send on its channel: a text channel adds how to answer,
    naming this question by its reference when others wait on the phone (drawn anew if
    another has it)."""
    if dialogue.channel not in PHONE_CHANNELS or not dialogue.phone:
        return dialogue, dialogue.text
    others = [
        d
        for d in await store.open_dialogues_for_phone(dialogue.phone)
        if d.id != dialogue.id and d.channel in PHONE_CHANNELS
    ]
    if others:
        taken = {d.reference for d in others}
        reference = dialogue.reference
        while reference in taken or not reference:
            reference = new_reference()
        dialogue = dialogue.model_copy(update={"reference": reference})
    return dialogue, f"{dialogue.text} {how_to_answer(dialogue, bool(others))}"


def answered(waiting: list[DialogueRecord], parsed: Reply) -> DialogueRecord | None:
    """The one question this reply answers, or None when it does not say which."""
    if parsed.reference is not None:
        named = [d for d in waiting if d.reference == parsed.reference]
        return named[0] if len(named) == 1 else None
    if len(waiting) == 1 or parsed.intent is Intent.HELP:
        return max(waiting, key=lambda d: d.created_at)  # help never decides anything
    return None


def which(waiting: list[DialogueRecord]) -> str:
    """The open payments of this phone with their references, oldest first."""
    ordered = sorted(waiting, key=lambda d: d.created_at)
    locale = ordered[-1].locale
    lines = [render("which_payment", locale).text]
    for dialogue in ordered:
        p = dialogue.params
        lines.append(
            render(
                "which_payment_item",
                locale,
                amount_minor=as_int(p.get("amount_minor")),
                currency=as_str(p.get("currency")),
                merchant=as_str(p.get("payee")) or as_str(p.get("merchant")),
                reference=dialogue.reference,
            ).text
        )
    return "\n".join(lines)
