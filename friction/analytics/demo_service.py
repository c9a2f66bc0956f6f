"""The demo's customer and back office: talks to a real in-process service over HTTP.

Every action goes through the public API (``POST /v1/score``, the in-app prompt and
answer, ``POST /v1/dev/sms``, ``POST /v1/payments/{id}/labels``), so the events it
leaves behind are the service's own. Customers answer as the simulator's truth
says they would, one turn at a time (``demo_timeline`` says when); a few opt out,
ask for a person or send an unclear first reply, drawn from a seeded generator.
"""

from __future__ import annotations

import asyncio
import math
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
HUMAN_SHARE = 0.03
"""Customers who ask for a person (the app's button, AGENT by text) instead of answering."""
UNCLEAR_FIRST_SHARE = 0.1
CHARGEBACK_SHARE = 0.8  # of frauds that got through; a few more come as fraud reports
CHARGEBACK_DAYS = 7.0  # median delay of a chargeback (log-normal, at least 2 days)
FRAUD_REPORT_SHARE = 0.1
ANALYST_DECLINE_SHARE = 0.5  # of declines, an analyst looks at half
ANALYST_DAYS = 0.2  # median delay of an analyst's label (~5 h)
SWEEP_EVERY_S = 0.01
"""``expiry_check_seconds`` of the demo's service."""
SWEEP_WAIT_S = 5 * SWEEP_EVERY_S
WORDS = {
    "en": ("YES", "NO", "AGENT"), "fr": ("oui", "non", "conseiller"),
    "es": ("sí", "no", "agente"), "ar": ("نعم", "لا", "موظف"),
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
    expires_at: str | None = None


class DemoError(RuntimeError):
    """The service refused a demo request it should have accepted."""


class DemoService:
    """A started service plus the simulated customers and analysts acting on it."""

    def __init__(self, settings: Settings, rng: np.random.Generator) -> None:
        app = build_app(settings.model_copy(update={"expiry_check_seconds": SWEEP_EVERY_S}))
        self._client: TestClient[web.Request, web.Application] = TestClient(
            TestServer(app, host="127.0.0.1")
        )
        self._rng = rng
        self.scored = 0
        self.done: list[Pending] = []
        self.answers: list[tuple[str, str]] = []
        """(payment id, what the customer did): ``in_app_yes``, ``sms_deny``, ``silent``…"""
        self.labels: list[tuple[str, str]] = []
        """(payment id, label source) of every label posted."""
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
            expires_at=dialogue.get("expires_at"),
        )  # fmt: skip
        self.scored += 1
        self.done.append(pending)
        return pending

    async def react(self, pending: Pending, intent: str, channel: str, first: bool) -> bool:
        """One reply of the customer (``confirm`` or ``deny``) on ``channel`` (``in_app`` or
        ``sms``); whether the payment still waits for another answer (a second question)."""
        status = await self._call("GET", f"/v1/payments/{pending.payment_id}")
        if status["verdict"] != "pending":
            self.answers.append((pending.payment_id, "too_late"))
            return False
        if first and self._rng.random() < HUMAN_SHARE:
            intent = "human"
        if channel == "in_app":
            answer = {"confirm": "yes", "deny": "no"}.get(intent, intent)
            said = await self._in_app(pending, answer)
        else:
            said = await self._sms(pending, intent, first)
        self.answers.append((pending.payment_id, said))
        status = await self._call("GET", f"/v1/payments/{pending.payment_id}")
        return bool(status["verdict"] == "pending" and said != "sms_stop")

    async def sweep(self) -> None:
        """Let the dialogue timers (escalations, expiries) run at this moment: their
        background task sweeps every ``expiry_check_seconds`` (of the monotonic clock, which
        the demo does not move), so waiting a few of those lets at least one sweep start."""
        await asyncio.sleep(SWEEP_WAIT_S)

    async def prefer(self, customer: str) -> None:
        """Once per customer: choose in-app first (with SMS as fallback) or SMS only."""
        if customer in self._preferred:
            return
        self._preferred.add(customer)
        channels = ["in_app", "console"] if self._rng.random() < IN_APP_SHARE else ["console"]
        await self._call("PUT", f"/v1/customers/{customer}/preferences", {"channels": channels})

    def late_truth(self, pending: Pending) -> tuple[str, float] | None:
        """Whether late truth comes for a payment: its source and its delay in days
        (chargebacks about a week after the payment, analysts within hours)."""
        fraud = bool(pending.truth["fraud"])
        draw, spread = self._rng.random(), float(self._rng.standard_normal())
        if pending.decision == "allow" and fraud:
            if draw < CHARGEBACK_SHARE:
                return "chargeback", max(2.0, CHARGEBACK_DAYS * math.exp(0.4 * spread))
            if draw < CHARGEBACK_SHARE + FRAUD_REPORT_SHARE:
                return "fraud_report", 1.0 + abs(spread)
        elif pending.decision == "review" or (
            pending.decision == "decline" and draw < ANALYST_DECLINE_SHARE
        ):
            return "analyst", ANALYST_DAYS * math.exp(0.5 * spread)
        return None

    async def post_label(self, pending: Pending, source: str) -> None:
        """The late truth about one payment, from ``source``."""
        label = {"label": "fraud" if pending.truth["fraud"] else "genuine", "source": source}
        await self._call("POST", f"/v1/payments/{pending.payment_id}/labels", label)
        self.labels.append((pending.payment_id, source))

    async def _in_app(self, pending: Pending, answer: str) -> str:
        prompts = await self._call("GET", f"/v1/customers/{pending.customer_id}/prompts")
        tokens = [p["token"] for p in prompts if p["dialogue_id"] == pending.dialogue_id]
        if not tokens:  # the dialogue moved on (another rung) or ended
            return "in_app_gone"
        path = f"/v1/dialogues/{pending.dialogue_id}/answer"
        await self._call("POST", path, {"token": tokens[0], "answer": answer})
        return f"in_app_{answer}"

    async def _sms(self, pending: Pending, intent: str, first: bool) -> str:
        yes, no, agent = WORDS.get(pending.language, WORDS["en"])
        if first and self._rng.random() < STOP_SHARE:
            await self._reply(pending, "STOP")
            return "sms_stop"
        if first and self._rng.random() < UNCLEAR_FIRST_SHARE:
            await self._reply(pending, "who is this?")  # re-asked; the real answer follows
        await self._reply(pending, {"confirm": yes, "deny": no}.get(intent, agent))
        return f"sms_{intent}"

    async def _reply(self, pending: Pending, text: str) -> None:
        await self._call("POST", "/v1/dev/sms", {"phone": pending.phone, "body": text})

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self._client.request(method, path, json=body) as response:
            if response.status >= 400:
                raise DemoError(f"{method} {path}: {response.status} {await response.text()}")
            return await response.json()
