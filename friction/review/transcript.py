"""A dialogue's transcript for the analyst: each question in words, each reply, each turn.

Questions are re-rendered from the flow's template keys with the dialogue's own
details (``friction.dialogue.wording``): the same function built the messages
that were sent, so the words match without storing every message twice.
"""

from __future__ import annotations

from collections.abc import Mapping

from friction.dialogue.flows import Flow
from friction.dialogue.wording import dialogue_text
from friction.domain.records import DialogueRecord
from friction.errors import FrictionError
from friction.review.schemas import Transcript, TranscriptTurn


def transcript(dialogue: DialogueRecord, flows: Mapping[str, Flow]) -> Transcript:
    """The dialogue's turns in order, with the wording of each question."""
    flow = flows.get(dialogue.flow.flow)
    turns = [
        TranscriptTurn(
            step=turn.step,
            question=_question(dialogue, flow, turn.step),
            reply=None if turn.reply is None else str(turn.reply),
            then=turn.then,
        )
        for turn in dialogue.flow.history
    ]
    return Transcript(
        dialogue_id=dialogue.id,
        flow=dialogue.flow.flow,
        channel=dialogue.channel,
        channels_tried=dialogue.ladder[: dialogue.rung + 1],
        state=dialogue.state,
        locale=dialogue.locale,
        created_at=dialogue.created_at,
        answered_at=dialogue.answered_at,
        answer=dialogue.answer,
        turns=turns,
        last_text=dialogue.text,
    )


def _question(dialogue: DialogueRecord, flow: Flow | None, step: str) -> str:
    """The question of ``step``; a flow changed since (renamed step) degrades to its name."""
    if flow is None or step not in flow.steps:
        return f"({step})"
    try:
        return dialogue_text(dialogue, flow.steps[step].prompt)
    except FrictionError:  # a template changed since: show the key rather than fail the page
        return f"({flow.steps[step].prompt})"
