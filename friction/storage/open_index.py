"""Open dialogues in memory, indexed by customer and by phone (the embedded store's copy).

The prompts route reads one customer's open questions and an SMS reply one phone's: both
must cost what that customer or phone has open, not what everybody has (issue 14). The
Redis store keeps the same indexes as sets (``open:c:{cust}``, ``open:p:<phone>``).
"""

from __future__ import annotations

from collections.abc import Iterable

from friction.domain.records import DialogueRecord


class OpenDialogues:
    """Open dialogues by id, with the ids of each customer's and each phone's."""

    def __init__(self, dialogues: Iterable[DialogueRecord] = ()) -> None:
        self._by_id: dict[str, DialogueRecord] = {}
        self._of: dict[str, set[str]] = {}  # customer id -> open dialogue ids
        self._to: dict[str, set[str]] = {}  # phone -> open dialogue ids
        for dialogue in dialogues:
            self.add(dialogue)

    def __contains__(self, dialogue_id: str) -> bool:
        return dialogue_id in self._by_id

    def all(self) -> list[DialogueRecord]:
        return list(self._by_id.values())

    def of(self, customer_id: str) -> list[DialogueRecord]:
        return [self._by_id[i] for i in self._of.get(customer_id, ())]

    def for_phone(self, phone: str) -> list[DialogueRecord]:
        return [self._by_id[i] for i in self._to.get(phone, ())]

    def add(self, dialogue: DialogueRecord) -> None:
        self._by_id[dialogue.id] = dialogue
        self._of.setdefault(dialogue.customer_id, set()).add(dialogue.id)
        if dialogue.phone:
            self._to.setdefault(dialogue.phone, set()).add(dialogue.id)

    def remove(self, dialogue_id: str) -> None:
        old = self._by_id.pop(dialogue_id, None)
        if old is None:
            return
        for index, key in ((self._of, old.customer_id), (self._to, old.phone)):
            ids = index.get(key or "")
            if ids is not None:
                ids.discard(dialogue_id)
                if not ids:
                    del index[key or ""]
