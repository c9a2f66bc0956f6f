"""The words of a dialogue: one template key rendered with the dialogue's own details.

Shared by the engine (what to send now) and the review desk (what was asked,
for the transcript), so an analyst reads exactly what the customer was sent.
"""

from __future__ import annotations

from friction.dialogue.templates import render
from friction.domain.records import DialogueRecord


def dialogue_text(record: DialogueRecord, key: str) -> str:
    """Template ``key`` in the dialogue's language, filled with its payment's details."""
    p = record.params
    return render(
        key,
        record.locale,
        amount_minor=as_int(p.get("amount_minor")),
        currency=as_str(p.get("currency")),
        merchant=as_str(p.get("merchant")),
        payee=as_str(p.get("payee")),
        last4=as_str(p.get("last4")),
    ).text


def as_int(value: str | int | None) -> int | None:
    return None if value is None else int(value)


def as_str(value: str | int | None) -> str | None:
    return None if value is None else str(value)
