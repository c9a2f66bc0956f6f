"""The demo's time: every action at the moment it happens in the simulated world.

A demo posts weeks of payments in seconds; stamped with the wall clock, every answer
would come milliseconds after its question and every week would be the same instant.
So the run moves the process's clock (``time-machine``: it patches ``datetime.now`` and
``time.time``, not the monotonic clock asyncio's timers run on) to each action's moment,
in time order: a payment at its ``occurred_at``, a customer's reply after the delay the
simulator drew for them (log-normal, seconds to minutes), the dialogue timers at each
dialogue's next rung and expiry. The service is the real one, unchanged; only the clock
it reads is the simulated world's.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import time_machine

from friction.analytics.demo_service import DemoService, Pending
from friction.simulation.answers import SCAM_QUESTION

SWEEP_AFTER = timedelta(seconds=1)
"""A dialogue's timers run this long after they fall due."""
SMS_AFTER_LADDER_SHARE = 0.7
"""An app customer who had not answered when the SMS rung asked replies by text this often."""
READ_AFTER = timedelta(days=7)
"""The data is read this long after the last payment: later labels have not come yet."""

Step = Callable[[], Awaitable[None]]


class Timeline:
    """Actions ordered by their moment; ``run`` moves the clock to each and awaits it."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, Step]] = []
        self._order = itertools.count()

    def at(self, moment: datetime, step: Step) -> None:
        """Schedule ``step`` at ``moment``."""
        heapq.heappush(self._heap, (moment, next(self._order), step))

    async def run(self, traveller: Any, until: datetime) -> None:
        """Every action up to ``until`` in time order (those scheduled meanwhile included)."""
        while self._heap and self._heap[0][0] <= until:
            moment, _, step = heapq.heappop(self._heap)
            traveller.move_to(moment)
            await step()


async def replay(
    service_for: Callable[[], DemoService],
    lines: Iterable[dict[str, Any]],
    rng: np.random.Generator,
    ladder_step_s: float,
) -> DemoService:
    """Post ``lines`` at their moments, let customers answer when they would, run the
    timers when due, post the late labels; returns the (closed) service with its counts."""
    lines = list(lines)
    start = _moment(lines[0]["payment"]["occurred_at"]) - timedelta(minutes=1)
    end = _moment(lines[-1]["payment"]["occurred_at"]) + READ_AFTER
    timeline = Timeline()
    with time_machine.travel(start, tick=True) as traveller:
        async with service_for() as service:
            for line in lines:
                moment = _moment(line["payment"]["occurred_at"])
                timeline.at(moment, _scoring(timeline, service, line, rng, ladder_step_s))
            await timeline.run(traveller, until=end)
    return service


def _scoring(
    timeline: Timeline,
    service: DemoService,
    line: dict[str, Any],
    rng: np.random.Generator,
    ladder_step_s: float,
) -> Step:
    async def score() -> None:
        pending = await service.score(line)
        now = _now()
        truth = service.late_truth(pending)
        if truth is not None:
            source, days = truth
            timeline.at(
                now + timedelta(days=days), functools.partial(service.post_label, pending, source)
            )
        if pending.dialogue_id is None or pending.expires_at is None:
            return
        expires = _moment(pending.expires_at)
        for due in (now + timedelta(seconds=ladder_step_s), expires):
            timeline.at(due + SWEEP_AFTER, service.sweep)
        said = pending.truth
        if said["answer"] == "none" or said["answer_delay_s"] is None:
            service.answers.append((pending.payment_id, "silent"))
            return
        delay = float(said["answer_delay_s"])
        if now + timedelta(seconds=delay) >= expires:
            service.answers.append((pending.payment_id, "too_late"))  # the service says 410
            return
        channel = _channel(pending, delay, rng, ladder_step_s)
        reply = _replying(timeline, service, pending, channel, expires, rng)
        timeline.at(now + timedelta(seconds=delay), reply)

    return score


def _replying(
    timeline: Timeline,
    service: DemoService,
    pending: Pending,
    channel: str,
    expires: datetime,
    rng: np.random.Generator,
) -> Step:
    async def first() -> None:
        if await service.react(pending, pending.truth["answer"], channel, first=True):
            second = pending.truth.get("answer_if_scam_question") or "none"
            delay = SCAM_QUESTION.median_s * math.exp(SCAM_QUESTION.sigma * rng.standard_normal())
            if second != "none" and _now() + timedelta(seconds=delay) < expires:
                timeline.at(_now() + timedelta(seconds=delay), then(second))

    def then(proceed: str) -> Step:
        """The scam question ("has anyone told you what to say?"): a customer who goes on
        with the payment answers NO, one who stops answers YES."""

        async def step() -> None:
            intent = "deny" if proceed == "confirm" else "confirm"
            await service.react(pending, intent, channel, first=False)

        return step

    return first


def _channel(pending: Pending, delay: float, rng: np.random.Generator, step_s: float) -> str:
    """Where the customer answers: SMS-first customers by text; app-first ones in the app,
    or by text once the SMS rung asked (unanswered past ``step_s``), most of the time."""
    if pending.channel != "in_app":
        return "sms"
    if delay <= step_s or rng.random() >= SMS_AFTER_LADDER_SHARE:
        return "in_app"
    return "sms"


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _now() -> datetime:
    return datetime.now(UTC)
