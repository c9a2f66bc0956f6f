"""The rules API from a notebook: save lists and rules, backtest, watch a shadow rule, promote.

``RulesDesk(url, api_key)`` speaks to a running service exactly as any analyst's tool would
(``docs/rules.md``: every route behind the tenant's key); ``LocalService`` starts one
in-process on a folder, for the demo notebook and for trying rules on a copy of real data
without touching production. Every call raises ``RulesDeskError`` with the service's own
one-line message (a rule that does not compile names its line and column).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pandas as pd
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from friction.app import build_app
from friction.settings import Settings


class RulesDeskError(RuntimeError):
    """The service refused a request; the message is its own."""


class RulesDesk:
    """A client of ``/v1/lists``, ``/v1/rules`` and ``/v1/score`` for one tenant."""

    def __init__(self, url: str, api_key: str | None = None, analyst: str = "notebook") -> None:
        self.url = url.rstrip("/")
        self.analyst = analyst
        """Recorded as who made each change (``updated_by``, ``added_by``)."""
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def save_list(
        self, name: str, kind: str, description: str = "", action: str | None = None
    ) -> dict[str, Any]:
        """Create or change a list (``action``: ``decline``, ``allow`` or none: rules read it)."""
        body = {"kind": kind, "description": description, "action": action}
        return await self._call("PUT", f"/v1/lists/{name}", {**body, "analyst": self.analyst})

    async def add_entry(
        self, name: str, value: str, reason: str, expires_at: str | None = None
    ) -> dict[str, Any]:
        """One entry of a list, normalised by the service for the list's kind."""
        body = {"value": value, "reason": reason, "expires_at": expires_at}
        return await self._call(
            "POST", f"/v1/lists/{name}/entries", {**body, "analyst": self.analyst}
        )

    async def backtest(self, expression: str, action: str, days: int = 30) -> dict[str, Any]:
        """The rule on this tenant's decisions of the last ``days``: hits by truth, changes."""
        body = {"expression": expression, "action": action, "days": days}
        return await self._call("POST", "/v1/rules/backtest", body)

    async def save_rule(
        self, rule_id: str, expression: str, action: str, **more: Any
    ) -> dict[str, Any]:
        """Save a rule (``mode``, ``priority``, ``description``, ``flow``, ``texts``): a new
        version when it exists. Save it in ``mode="shadow"`` first."""
        body = {"expression": expression, "action": action, **more, "analyst": self.analyst}
        return await self._call("PUT", f"/v1/rules/{rule_id}", body)

    async def rule(self, rule_id: str) -> dict[str, Any]:
        """A rule's current version."""
        return await self._call("GET", f"/v1/rules/{rule_id}")

    async def promote(self, rule_id: str) -> dict[str, Any]:
        """A shadow rule made live, unchanged otherwise: its next version."""
        rule = await self.rule(rule_id)
        keep = ("expression", "action", "flow", "priority", "description", "texts")
        body = {k: rule[k] for k in keep if rule.get(k) is not None}
        return await self.save_rule(rule_id, **{**body, "mode": "live"})

    async def rules(self) -> dict[str, Any]:
        """``{"rules": [...], "broken": [...]}``."""
        return await self._call("GET", "/v1/rules")

    async def score(self, payment: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/score``: the decision a payment gets now."""
        return await self._call("POST", "/v1/score", payment)

    async def label(self, payment_id: str, label: str, source: str = "analyst") -> None:
        """Late truth about a payment (``chargeback``, ``fraud_report`` or ``analyst``)."""
        body = {"label": label, "source": source}
        await self._call("POST", f"/v1/payments/{payment_id}/labels", body)

    async def hit_counts(self) -> pd.DataFrame:
        """Hits of every rule and list since the service started, from its ``/metrics``
        (``friction_rule_hits_total``): a shadow rule's count is what it would have done."""
        timeout = aiohttp.ClientTimeout(total=60)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(self.url + "/metrics") as response,
        ):
            response.raise_for_status()
            text = await response.text()
        rows = [
            {**sample.labels, "hits": int(sample.value)}
            for family in text_string_to_metric_families(text)
            if family.name == "friction_rule_hits"
            for sample in family.samples
            if sample.name == "friction_rule_hits_total"
        ]
        columns = ["tenant", "source", "rule", "mode", "acted", "hits"]
        return pd.DataFrame(rows, columns=columns)

    async def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=60)
        async with (
            aiohttp.ClientSession(timeout=timeout, headers=self._headers) as session,
            session.request(method, self.url + path, json=body) as response,
        ):
            if response.status >= 400:
                answer = await response.json(content_type=None)
                raise RulesDeskError(f"{method} {path}: {response.status} {answer.get('message')}")
            answered: dict[str, Any] = await response.json()
            return answered


class LocalService:
    """friction served in-process on ``directory`` (embedded store, file event log), with
    the event log and models of ``source`` copied in: try rules on a copy of real data."""

    def __init__(self, directory: Path, source: Path | None = None) -> None:
        self.directory = directory
        self._source = source
        self._server: TestServer | None = None

    async def start(self) -> str:
        """Copy the data, start the service, and return its URL."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._source is not None:
            for part in ("events", "models"):
                if (self._source / part).is_dir():
                    shutil.copytree(self._source / part, self.directory / part, dirs_exist_ok=True)
        settings = Settings(
            data_dir=self.directory, models_dir=self.directory / "models",
            expiry_check_seconds=1.0,
        )  # fmt: skip
        self._server = TestServer(build_app(settings), host="127.0.0.1")
        await self._server.start_server()
        return str(self._server.make_url("")).rstrip("/")

    async def stop(self) -> None:
        """Stop the service (the outbox drains into the event log first)."""
        if self._server is not None:
            await self._server.close()
            self._server = None
