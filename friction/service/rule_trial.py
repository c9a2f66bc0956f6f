"""A rule on trial before it goes live: what it would have done to the decisions served.

The rule is compiled alone (with the lists it reads) and run over the decision log (the
file bus's ``decisions`` topic): each event holds the features and score the model saw and
the body as rules read it (``DecisionEvent.payment``); truth comes from the ``labels``
topic where it has arrived. The rule is applied to the served decision (stricter only);
whether a customer could have been asked is not known there, so a challenge counts as one.
``friction.backtest.rule_impact`` replays a stream instead, with the policy around it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from pydantic import BaseModel

from friction.domain.events import NOT_LOGGED, DecisionEvent, LabelEvent
from friction.domain.tenancy import tenant_of
from friction.errors import InvalidInput
from friction.events.file_bus import read_events
from friction.rules.expressions import Vocabulary
from friction.rules.lists import RuleList
from friction.rules.matching import Matcher
from friction.rules.rules import Rule, RuleAction, RuleSet, Verdict
from friction.scoring.policy import in_eur
from friction.settings import PolicySettings

CANDIDATE = "candidate"


class Hits(BaseModel):
    """The payments the rule matched, by truth, and what it would have changed."""

    hits: int = 0
    fraud: int = 0
    genuine: int = 0
    unlabelled: int = 0
    fraud_value_eur: float = 0.0
    acted: int = 0
    """Hits whose decision the rule changed (stricter only, or an allow rule)."""
    good_declined: int = 0
    good_challenged: int = 0
    good_reviewed: int = 0
    """Genuine payments the rule would newly decline, challenge or send to a person."""
    errors: int = 0
    first_error: str | None = None
    changes: dict[str, int] = {}
    """``"allow → decline"``: how many decisions would move so."""

    def hit(self, fraud: bool | None, value_eur_minor: float) -> None:
        """One payment matched (``fraud`` None: no truth yet)."""
        self.hits += 1
        if fraud is None:
            self.unlabelled += 1
        elif fraud:
            self.fraud += 1
            self.fraud_value_eur = round(self.fraud_value_eur + value_eur_minor / 100.0, 2)
        else:
            self.genuine += 1

    def changed(self, fraud: bool | None, before: str, after: str) -> None:
        """The rule moved one decision."""
        self.acted += 1
        move = f"{before} → {after}"
        self.changes = {**self.changes, move: self.changes.get(move, 0) + 1}
        if fraud is False:
            self.good_declined += after == "decline"
            self.good_challenged += after == "challenge"
            self.good_reviewed += after == "review"

    def failed(self, verdicts: Iterable[Verdict]) -> None:
        """Count the evaluations that failed (each counted as no match)."""
        for verdict in verdicts:
            for failure in verdict.errors:
                self.errors += 1
                self.first_error = self.first_error or failure.message


class RuleTrial(BaseModel):
    """A rule's backtest: what it matched and what it would have changed."""

    source: str
    expression: str
    action: RuleAction
    payments: int
    hits: Hits
    skipped: int = 0
    """Log events that cannot be replayed (logged before events carried the body)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """The rule under test, compiled alone with the lists it may read."""

    rule: Rule
    rule_set: RuleSet


def candidate(
    vocabulary: Vocabulary,
    expression: str,
    action: RuleAction,
    lists: Iterable[tuple[RuleList, Matcher]] = (),
) -> Candidate:
    """The rule under test; an expression that does not compile is ``InvalidInput`` naming
    line and column. Allow and block lists are read by it, never act on their own here."""
    readable = [(spec.model_copy(update={"action": None}), m) for spec, m in lists]
    vocabulary.check(expression, [spec.name for spec, _ in readable])
    rule = Rule(id=CANDIDATE, expression=expression, action=action)
    return Candidate(rule, RuleSet(vocabulary, [rule], readable))


def on_log(
    events: Path,
    test: Candidate,
    settings: PolicySettings,
    tenant: str | None = None,
    since: datetime | None = None,
) -> RuleTrial:
    """Apply the rule to the decisions served (one tenant's, from ``since``)."""
    truth = {
        e.payment_id: e.label == "fraud"
        for e in read_events(events, "labels")
        if isinstance(e, LabelEvent) and e.label != "no_answer"
    }
    hits, skipped, payments, verdicts = Hits(), 0, 0, []
    for event in read_events(events, "decisions"):
        if not isinstance(event, DecisionEvent):
            continue
        if tenant is not None and tenant_of(event.payment_id) != tenant:
            continue
        if since is not None and event.occurred_at < since:
            continue
        payments += 1
        if event.payment is None:
            skipped += 1
            continue
        features = {n: float("nan") if v is None else v for n, v in event.features.items()}
        verdict = test.rule_set.evaluate(event.payment, features, event.score)
        verdicts.append(verdict)
        fraud = truth.get(event.payment_id)
        if verdict.matched:
            hits.hit(fraud, in_eur(settings, event.amount_minor, event.currency))
        decision, hit = verdict.apply(cast(RuleAction, event.decision))
        if hit is not None and decision != event.decision:
            hits.changed(fraud, event.decision, decision)
    hits.failed(verdicts)
    rule = test.rule
    return RuleTrial(source=str(events), expression=rule.expression, action=rule.action,
                     payments=payments, hits=hits, skipped=skipped)  # fmt: skip


def refuse_unlogged(expression: str) -> None:
    """A rule that reads what decision events leave out cannot be backtested on the log."""
    for part, fields in NOT_LOGGED.items():
        for name in fields:
            if re.search(rf"\bpayment\.{part}\.{name}\b", expression):
                raise InvalidInput(
                    f"payment.{part}.{name} is not kept in the decision log (personal data): "
                    "backtest this rule on a stream with `friction backtest --rule … --data`",
                    fields=["expression"],
                )
