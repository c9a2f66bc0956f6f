"""How one of several open questions on one phone is named in an SMS: a reference.

A text carries no thread: when two questions wait on one phone (two payments, or two
banks texting from our number), "YES" alone cannot say which it answers. So each SMS
sent while another question is open on that phone ends with its own four digits
("reply YES 4821 or NO 4821"), drawn so that no two open questions of a phone share
them; a reply counts for a question only if it names it, or if it is the only one.
"""

from __future__ import annotations

import secrets

from friction.dialogue.ladder import PHONE_CHANNELS
from friction.dialogue.replies import Intent, Reply
from friction.dialogue.templates import render
from friction.dialogue.wording import as_int, as_str
from friction.ports import RecordStore
from friction.records import DialogueRecord


def new_reference() -> str:
    """Four random digits that name a dialogue in an SMS."""
    return f"{secrets.randbelow(10_000):04d}"


async def addressed(store: RecordStore, dialogue: DialogueRecord) -> tuple[DialogueRecord, str]:
    """The dialogue and the text to send: on a phone that other open dialogues share, with
    this one's reference and how to answer with it (drawn anew if another has it)."""
    if dialogue.channel not in PHONE_CHANNELS or not dialogue.phone:
        return dialogue, dialogue.text
    others = [
        d
        for d in await store.open_dialogues_for_phone(dialogue.phone)
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
