"""A rule's say in a decision: the tenant's verdict applied to the policy's action.

Rules and lists come first in the policy's order, but a rule only makes friction stricter
(``Verdict.apply``) unless it is an allow rule, and a ``challenge`` rule passes the same
guards as the model's challenges: a payee the customer confirmed recently is not asked
again, and an unreachable customer or a spent friction budget sends the payment to a
person instead. A rule cannot spam a customer.
"""

from __future__ import annotations

from dataclasses import replace

from friction.domain.decision import Reason
from friction.domain.events import RuleFailure, RuleMatch, RulesTrace
from friction.metrics import Metrics
from friction.rules.rules import Hit, Verdict
from friction.scoring.policy import Action, PolicyInput, ask
from friction.settings import PolicySettings


def ruled(
    settings: PolicySettings, given: PolicyInput, action: Action, verdict: Verdict, locale: str
) -> tuple[Action, Hit | None]:
    """The action once the tenant's rules have spoken, and the hit that made it (if any)."""
    _, hit = verdict.apply(action.decision)
    if hit is None:
        return action, None
    reason = Reason(code="RULE", text=hit.text(locale), rule=hit.id)
    if hit.action == "challenge":
        if given.trusted:  # confirmed recently: neither a rule nor the model asks again
            return action, None
        asked = ask(
            settings, given, action.expected_loss, action.friction_cost, action.costs,
            action.on_silence,
        )  # fmt: skip
        return replace(asked, reasons=[reason, *asked.reasons]), hit
    return replace(action, decision=hit.action, reasons=[reason], propensity=1.0,
                   explored=False), hit  # fmt: skip


def trace_of(verdict: Verdict, acted: Hit | None) -> RulesTrace:
    """What the decision event records of the verdict (ids and versions, no payment data)."""
    return RulesTrace(
        matched=[_match(hit) for hit in verdict.matched],
        acted=None if acted is None else _match(acted),
        errors=[
            RuleFailure(source=f.source, id=f.id, version=f.version, message=f.message)
            for f in verdict.errors
        ],
    )


def count(metrics: Metrics, tenant: str, verdict: Verdict, acted: Hit | None) -> None:
    """Hits by rule and mode (a shadow rule's count is what it would have done), failures."""
    for hit in verdict.matched:
        did = "true" if hit is acted else "false"
        metrics.rule_hits.labels(tenant, hit.source, hit.id, hit.mode, did).inc()
    for failure in verdict.errors:
        metrics.rule_errors.labels(tenant, failure.id).inc()


def _match(hit: Hit) -> RuleMatch:
    return RuleMatch(source=hit.source, id=hit.id, version=hit.version, action=hit.action,
                     mode=hit.mode)  # fmt: skip
