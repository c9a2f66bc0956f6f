"""``POST /v1/rules/backtest``: a rule tried on the tenant's own decision log before it goes live.

An analyst asks "what would this rule have done to the payments we served?" from the same
place they save rules, without a shell on the server: the rule is compiled with the
tenant's lists as its live rule set reads them and run by ``service.rule_trial.on_log``
over the local decision log, truth from the labels that came back. The log is local only
with the file bus; with Kafka the events are on the broker, and the command line replays a
sink's output instead (409 saying so).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from aiohttp import web
from pydantic import BaseModel, Field

from friction.api.auth import tenant_of_request
from friction.api.bodies import parse_body
from friction.api.keys import FLOWS, RULES, SETTINGS
from friction.errors import Conflict, InvalidInput
from friction.rules.expressions import MAX_EXPRESSION
from friction.rules.lists import Body
from friction.rules.rules import RuleAction
from friction.service.rule_trial import Hits, candidate, on_log, refuse_unlogged


class BacktestIn(Body):
    """``POST /v1/rules/backtest``: the rule to try and how far back."""

    expression: str = Field(min_length=1, max_length=MAX_EXPRESSION)
    action: RuleAction
    days: int = Field(30, ge=1, le=90)
    """The last N days of decisions."""
    flow: str | None = Field(None, pattern=r"^[a-z][a-z0-9_\-]{0,63}$")
    """Checked as a saved rule's would be (a challenge counts as one whatever its flow)."""


class BacktestOut(BaseModel):
    """What the rule matched among the decisions of the last ``days``, by truth."""

    expression: str
    action: RuleAction
    days: int
    payments: int
    """The tenant's decisions in the window."""
    skipped: int
    """Decisions logged before events carried the body: they cannot be replayed."""
    hits: Hits


async def backtest(request: web.Request) -> web.Response:
    """POST /v1/rules/backtest — the rule on this tenant's decisions of the last days."""
    body = await parse_body(request, BacktestIn)
    settings = request.app[SETTINGS]
    if settings.bus != "file":
        raise Conflict(
            "the decision log is on Kafka, not on this replica: backtest with "
            "`friction backtest --rule EXPR --events DIR` on a sink's output"
        )
    flows = request.app[FLOWS]
    if body.flow is not None and (body.action != "challenge" or body.flow not in flows):
        raise InvalidInput(
            f"flow is for challenge rules, one of {', '.join(flows)}", fields=["flow"]
        )
    refuse_unlogged(body.expression)
    tenant, rules = tenant_of_request(request), request.app[RULES]
    lists = await rules.lists(tenant)
    test = await asyncio.to_thread(candidate, rules.vocabulary, body.expression, body.action, lists)
    since = datetime.now(UTC) - timedelta(days=body.days)
    trial = await asyncio.to_thread(on_log, settings.event_log_dir, test, settings, tenant, since)
    answer = BacktestOut(
        expression=trial.expression,
        action=trial.action,
        days=body.days,
        payments=trial.payments,
        skipped=trial.skipped,
        hits=trial.hits,
    )
    return web.Response(text=answer.model_dump_json(), content_type="application/json")
