"""What a policy did to a stream, as numbers, a rich table and JSON.

Definitions (all over the replayed stream):

- *fraud stopped*: fraud payments blocked (declined, denied by the customer, or
  blocked after no answer / by an analyst); value in EUR.
- *good declined*: genuine payments blocked, for any reason (declined outright,
  unanswered challenge whose silence blocks, a customer's mistaken "no").
- *friction rate*: genuine payments challenged / genuine payments.
- *max challenges per customer*: the most any customer received within one
  friction-budget window (what the budget bounds).
- *fast labels per day*: labels from answers and reviews (chargebacks come weeks later
  for every policy and are not counted).
"""

from __future__ import annotations

from collections import defaultdict
from statistics import median

import numpy as np
from pydantic import BaseModel
from rich.table import Table

from friction.backtest.policies import fraud_values
from friction.offline.cases import Cases
from friction.offline.policy_replay import Outcome
from friction.settings import Settings


class PolicyReport(BaseModel):
    """One policy's column of the backtest table."""

    policy: str
    payments: int
    fraud_total: int
    fraud_value_total: float
    fraud_stopped: int
    fraud_value_stopped: float
    good_declined: int
    good_declined_rate: float
    good_challenged: int
    friction_rate: float
    max_challenges_per_customer: int
    challenges: int
    explored: int
    answer_rate: float | None
    median_answer_s: float | None
    labels_per_day: float
    reviews: int
    threshold: float | None = None


def summarise(
    name: str,
    cases: Cases,
    outcomes: list[Outcome],
    settings: Settings,
    threshold: float | None = None,
) -> PolicyReport:
    """The report of one policy's outcomes over ``cases``."""
    fraud = np.array([c.fraud for c in cases.cases], dtype=bool)
    blocked = np.array([o.blocked for o in outcomes], dtype=bool)
    challenged = np.array([o.decision == "challenge" for o in outcomes], dtype=bool)
    values = fraud_values(cases, settings)
    good = int((~fraud).sum())
    delays = [o.answer_delay_s for o in outcomes if o.answered and o.answer_delay_s is not None]
    labels = sum(1 for o in outcomes if o.label is not None)
    challenges = int(challenged.sum())
    return PolicyReport(
        policy=name,
        payments=len(outcomes),
        fraud_total=int(fraud.sum()),
        fraud_value_total=round(float(values.sum()), 2),
        fraud_stopped=int((fraud & blocked).sum()),
        fraud_value_stopped=round(float(values[blocked].sum()), 2),
        good_declined=int((~fraud & blocked).sum()),
        good_declined_rate=round(float((~fraud & blocked).sum()) / max(good, 1), 6),
        good_challenged=int((~fraud & challenged).sum()),
        friction_rate=round(float((~fraud & challenged).sum()) / max(good, 1), 6),
        max_challenges_per_customer=_max_in_window(cases, challenged, settings),
        challenges=challenges,
        explored=sum(1 for o in outcomes if o.explored),
        answer_rate=round(len(delays) / challenges, 4) if challenges else None,
        median_answer_s=round(median(delays), 1) if delays else None,
        labels_per_day=round(labels / cases.days, 1),
        reviews=sum(1 for o in outcomes if o.reviewed),
        threshold=threshold,
    )


def _max_in_window(cases: Cases, challenged: np.ndarray, settings: Settings) -> int:
    """Most challenges any customer received within one budget window."""
    window = settings.friction_window_hours * 3600.0
    times: dict[str, list[float]] = defaultdict(list)
    for case, asked in zip(cases.cases, challenged.tolist(), strict=True):
        if asked:
            times[case.customer].append(case.ts)
    best = 0
    for ts in times.values():
        start = 0
        for end, t in enumerate(ts):
            while ts[start] <= t - window:
                start += 1
            best = max(best, end - start + 1)
    return best


ROWS: tuple[tuple[str, str], ...] = (
    ("fraud stopped", "fraud"),
    ("fraud value stopped (EUR)", "value"),
    ("good payments declined", "declined"),
    ("good customers challenged", "challenged"),
    ("max challenges / customer / window", "max_challenges_per_customer"),
    ("challenges (explored)", "explore"),
    ("answer rate · median time", "answers"),
    ("fast labels / day", "labels_per_day"),
    ("analyst reviews", "reviews"),
    ("score threshold", "threshold"),
)


def _cell(report: PolicyReport, key: str) -> str:
    r = report
    cells = {
        "fraud": f"{r.fraud_stopped:,} / {r.fraud_total:,}",
        "value": f"{r.fraud_value_stopped:,.0f} / {r.fraud_value_total:,.0f}",
        "declined": f"{r.good_declined:,} ({r.good_declined_rate:.3%})",
        "challenged": f"{r.good_challenged:,} ({r.friction_rate:.2%})",
        "explore": f"{r.challenges:,} ({r.explored:,})",
        "answers": "-"
        if r.answer_rate is None
        else f"{r.answer_rate:.1%} · {r.median_answer_s or 0:.0f} s",
        "threshold": "-" if r.threshold is None else f"{r.threshold:.4f}",
    }
    return cells.get(key, f"{getattr(r, key, '-')}")


def table(title: str, reports: list[PolicyReport]) -> Table:
    """The side-by-side table of policies."""
    grid = Table(title=title)
    grid.add_column("")
    for report in reports:
        grid.add_column(report.policy, justify="right")
    for label, key in ROWS:
        grid.add_row(label, *(_cell(r, key) for r in reports))
    return grid


def verdict(smart: PolicyReport, silent: PolicyReport, budget: int) -> dict[str, object]:
    """The issue's target, checked: fewer good declines at equal fraud value (silent block's
    value within 1 % of smart friction's: one large fraud can make the step bigger), low
    friction, budget kept."""
    fewer = 1.0 - smart.good_declined / silent.good_declined if silent.good_declined else 0.0
    gap = (
        silent.fraud_value_stopped / smart.fraud_value_stopped - 1.0
        if smart.fraud_value_stopped
        else 0.0
    )
    return {
        "fewer_good_declined": round(fewer, 4),
        "fraud_value_gap": round(gap, 4),
        "equal_fraud_value_ok": abs(gap) <= 0.01,
        "fewer_good_declined_ok": fewer >= 0.8,
        "friction_rate_ok": smart.friction_rate <= 0.015,
        "budget_ok": smart.max_challenges_per_customer <= budget,
    }


def breakdown_table(title: str, slices: dict[str, dict[str, PolicyReport]]) -> Table:
    """Where each policy stops fraud and declines good payments: per channel, per scenario."""
    grid = Table(title=title)
    for column in ("slice", "fraud value stopped: silent · smart", "good declined: silent · smart",
                   "friction rate", "max / customer"):  # fmt: skip
        grid.add_column(column, justify="left" if column == "slice" else "right")
    for key, reports in slices.items():
        silent, smart = reports["silent block"], reports["smart friction"]
        scenario = key.startswith("scenario:")
        grid.add_row(
            key,
            f"{silent.fraud_value_stopped:,.0f} · {smart.fraud_value_stopped:,.0f}"
            f" / {smart.fraud_value_total:,.0f}",
            "" if scenario else f"{silent.good_declined:,} · {smart.good_declined:,}",
            "" if scenario else f"{smart.friction_rate:.2%}",
            str(smart.max_challenges_per_customer),
        )
    return grid
