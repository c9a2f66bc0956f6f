"""A rule replayed on a simulated stream, with the policy around it.

Each payment's body, the feature code's replay and the champion's score; the current policy
(smart friction with the champion's fitted policy) is replayed without and with the rule,
customers answering as the stream's truth says, the rule's challenges passing the budget
and trusted-payee guards as in the service (``service.ruling.ruled``). The decision log is
``service.rule_trial.on_log``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from friction.backtest.policies import smart_friction
from friction.backtest.report import PolicyReport, summarise
from friction.offline.cases import Cases, collect
from friction.offline.dataset import build_dataset, read_lines
from friction.offline.policy_replay import Case
from friction.rules.rules import Verdict
from friction.scoring.features import FEATURE_NAMES
from friction.scoring.model import Model
from friction.scoring.policy import Action, PolicyFit, PolicyInput, in_eur
from friction.service.rule_trial import Candidate, Hits, RuleTrial
from friction.service.ruling import ruled
from friction.settings import Settings

Advance = Callable[[float], None]
Line = dict[str, Any]


class StreamTrial(RuleTrial):
    """A rule's backtest on a stream: its hits and the policy without and with it."""

    current: PolicyReport
    with_rule: PolicyReport


def on_stream(
    path: Path, test: Candidate, model: Model, fit: PolicyFit, settings: Settings,
    advance: Advance,
) -> StreamTrial:  # fmt: skip
    """Replay a simulated stream without and with the rule."""
    bodies: list[Line] = []
    case_list: list[Case] = []
    dataset = build_dataset(collect(_bodies(read_lines(path), bodies), case_list, advance))
    scores = np.asarray(model.predict_batch(dataset.X), dtype=np.float64)
    cases = Cases(case_list, scores, dataset.scenarios)
    verdicts: dict[str, Verdict] = {}
    for body, row, score in zip(bodies, dataset.X.tolist(), scores.tolist(), strict=True):
        features = dict(zip(FEATURE_NAMES, row, strict=True))
        verdicts[body["payment_id"]] = test.rule_set.evaluate(body, features, score)
    locales = {b["payment_id"]: b["customer"].get("locale", "en") for b in bodies}
    hits = Hits()

    def adjust(case: Case, given: PolicyInput, action: Action) -> Action:
        verdict = verdicts[case.payment_id]
        changed, hit = ruled(settings, given, action, verdict, locales[case.payment_id])
        if verdict.matched:
            hits.hit(case.fraud, in_eur(settings, case.amount_minor, case.currency))
        if hit is not None and changed.decision != action.decision:
            hits.changed(case.fraud, action.decision, changed.decision)
        return changed

    current = smart_friction(cases, settings, advance, fit)
    with_rule = smart_friction(cases, settings, advance, fit, adjust)
    hits.failed(verdicts.values())
    return StreamTrial(
        source=str(path), expression=test.rule.expression, action=test.rule.action,
        payments=len(cases.cases), hits=hits,
        current=summarise("current policy", cases, current, settings),
        with_rule=summarise("with the rule", cases, with_rule, settings),
    )  # fmt: skip


def hits_table(trial: RuleTrial) -> Table:
    """The rule's hits and what it would change, as a rich table."""
    h = trial.hits
    grid = Table(title=f"rule {trial.expression!r} → {trial.action}")
    grid.add_column("")
    grid.add_column("payments", justify="right")
    rows = [
        ("payments replayed", f"{trial.payments:,}"),
        ("hits", f"{h.hits:,}"),
        ("… fraud (value EUR)", f"{h.fraud:,} ({h.fraud_value_eur:,.0f})"),
        ("… genuine", f"{h.genuine:,}"),
        ("… not labelled yet", f"{h.unlabelled:,}"),
        ("decisions it changes", f"{h.acted:,}"),
        ("good payments it would decline", f"{h.good_declined:,}"),
        ("good payments it would challenge", f"{h.good_challenged:,}"),
        ("good payments it would send to review", f"{h.good_reviewed:,}"),
        ("evaluation errors", f"{h.errors:,}" + (f" ({h.first_error})" if h.first_error else "")),
    ]
    rows += [(f"  {change}", f"{n:,}") for change, n in sorted(h.changes.items())]
    if trial.skipped:
        rows.append(("log events without the body (skipped)", f"{trial.skipped:,}"))
    for label, value in rows:
        grid.add_row(label, value)
    return grid


def _bodies(lines: Iterable[Line], into: list[Line]) -> Iterator[Line]:
    """Pass stream lines on, keeping each payment body (one read serves every use)."""
    for line in lines:
        into.append(line["payment"])
        yield line
