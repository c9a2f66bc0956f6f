"""The demo's customer and back office: talks to a real in-process service over HTTP.

Every action goes through the public API (``POST /v1/score``, the in-app prompt and
answer, ``POST /v1/dev/sms``, ``POST /v1/payments/{id}/labels``), so the events it
leaves behind are the service's own. Customers answer as the simulator's truth
says they would; which channel they use, and a few opt-outs and unclear first
replies, are drawn from a seeded generator.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from friction.app import build_app
from friction.settings import Settings

IN_APP_SHARE = 0.5
STOP_SHARE = 0.04
UNCLEAR_FIRST_SHARE = 0.1
CHARGEBACK_SHARE = 0.8  # of frauds that got through; a few more come as fraud reports
FRAUD_REPORT_SHARE = 0.1
ANALYST_DECLINE_SHARE = 0.5  # of declines, an analyst looks at half
MAX_TURNS = 3
WORDS = {
    "en": ("YES", "NO"), "fr": ("oui", "non"), "es": ("sí", "no"), "ar": ("نعم", "لا"),
}  # fmt: skip


@dataclass(frozen=True)
class Pending:
    """A scored payment: what was decided and what the customer would answer."""

    order: int
    payment_id: str
    customer_id: str
    phone: str
    language: str
    decision: str
    dialogue_id: str | None
    channel: str | None
    truth: dict[str, Any]


class DemoError(RuntimeError):
    """The service refused a demo request it should have accepted."""


class DemoService:
    """A started service plus the simulated customers and analysts acting on it."""

    def __init__(self, settings: Settings, rng: np.random.Generator) -> None:
        self._client: TestClient[web.Request, web.Application] = TestClient(
            TestServer(build_app(settings), host="127.0.0.1")
        )
        self._rng = rng
        self.scored = 0
        self.done: list[Pending] = []
        self.answers: Counter[str] = Counter()
        self.labels: Counter[str] = Counter()
        self._preferred: set[str] = set()

    async def __aenter__(self) -> DemoService:
        await self._client.start_server()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.close()  # drains the outbox into the event log

    async def score(self, line: dict[str, Any]) -> Pending:
        """POST one simulated payment; remember what happened to it."""
        payment = line["payment"]
        await self.prefer(payment["customer"]["id"])
        body = await self._call("POST", "/v1/score", payment)
        dialogue = body.get("dialogue") or {}
        customer = payment["customer"]
        pending = Pending(
            order=self.scored, payment_id=payment["payment_id"], customer_id=customer["id"],
            phone=customer.get("phone") or "", language=customer["locale"][:2],
            decision=body["decision"], dialogue_id=dialogue.get("id"),
            channel=dialogue.get("channel"), truth=line["truth"],
        )  # fmt: skip
        self.scored += 1
        self.done.append(pending)
        return pending

    async def answer_all(self, queue: list[Pending]) -> None:
        """Answer (or ignore) every queued challenge, oldest first; empties the queue."""
        for pending in queue:
            await self.answer(pending)
        queue.clear()

    async def answer(self, pending: Pending) -> None:
        """The customer reacts to a challenge as the simulated truth says, turn by turn.

        A flow may ask a second question (scam check on transfers); the simulated
        answer to it is ``answer_if_scam_question``.
        """
        intent = pending.truth["answer"]  # confirm | deny | none
        if intent == "none":
            self.answers["silent"] += 1
            return
        for turn in range(MAX_TURNS):
            if turn:
                intent = pending.truth.get("answer_if_scam_question") or intent
            if intent == "none":
                break
            if pending.channel == "in_app":
                said = await self._in_app(pending, "yes" if intent == "confirm" else "no")
            else:
                said = await self._sms(pending, intent, first=turn == 0)
            self.answers[said] += 1
            status = await self._call("GET", f"/v1/payments/{pending.payment_id}")
            if status["verdict"] != "pending" or said == "sms_stop":
                break

    async def prefer(self, customer: str) -> None:
        """Once per customer: choose in-app first (with SMS as fallback) or SMS only."""
        if customer in self._preferred:
            return
        self._preferred.add(customer)
        channels = ["in_app", "console"] if self._rng.random() < IN_APP_SHARE else ["console"]
        await self._call("PUT", f"/v1/customers/{customer}/preferences", {"channels": channels})

    async def post_labels(self) -> None:
        """Late truth: chargebacks for fraud that got through, analysts for the rest."""
        for pending in self.done:
            fraud = bool(pending.truth["fraud"])
            draw = self._rng.random()
            source: str | None = None
            if pending.decision == "allow" and fraud:
                cut = CHARGEBACK_SHARE + FRAUD_REPORT_SHARE
                source = (
                    "chargeback"
                    if draw < CHARGEBACK_SHARE
                    else "fraud_report"
                    if draw < cut
                    else None
                )
            elif pending.decision == "review" or (
                pending.decision == "decline" and draw < ANALYST_DECLINE_SHARE
            ):
                source = "analyst"
            if source is not None:
                label = {"label": "fraud" if fraud else "genuine", "source": source}
                await self._call("POST", f"/v1/payments/{pending.payment_id}/labels", label)
                self.labels[source] += 1

    async def _in_app(self, pending: Pending, answer: str) -> str:
        prompts = await self._call("GET", f"/v1/customers/{pending.customer_id}/prompts")
        tokens = [p["token"] for p in prompts if p["dialogue_id"] == pending.dialogue_id]
        if not tokens:  # the dialogue moved on (another rung) or ended
            return "in_app_gone"
        path = f"/v1/dialogues/{pending.dialogue_id}/answer"
        await self._call("POST", path, {"token": tokens[0], "answer": answer})
        return f"in_app_{answer}"

    async def _sms(self, pending: Pending, intent: str, first: bool) -> str:
        yes, no = WORDS.get(pending.language, WORDS["en"])
        if first and self._rng.random() < STOP_SHARE:
            await self._reply(pending, "STOP")
            return "sms_stop"
        if first and self._rng.random() < UNCLEAR_FIRST_SHARE:
            await self._reply(pending, "who is this?")  # re-asked; the real answer follows
        await self._reply(pending, yes if intent == "confirm" else no)
        return f"sms_{intent}"

    async def _reply(self, pending: Pending, text: str) -> None:
        await self._call("POST", "/v1/dev/sms", {"phone": pending.phone, "body": text})

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self._client.request(method, path, json=body) as response:
            if response.status >= 400:
                raise DemoError(f"{method} {path}: {response.status} {await response.text()}")
            return await response.json()
