"""Friction-budget tuning: what a per-customer challenge budget would have done.

The service allows at most ``friction_budget`` challenges per customer in a rolling
window; past it a suspicious payment goes to a person. Replaying the logged scores
under another threshold and budget shows the trade-off between customer friction
and analyst workload before anyone changes ``FRICTION_FRICTION_BUDGET``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence

import pandas as pd

from friction.analytics.measures import Unlabelled, truth


def budget_table(
    payments: pd.DataFrame,
    threshold: float,
    budgets: Sequence[int] = (1, 2, 3, 5, 10),
    window_days: float = 7.0,
    unlabelled: Unlabelled = "genuine",
) -> pd.DataFrame:
    """Per budget: challenges, reviews (over budget), frauds challenged, genuine challenged."""
    rows = truth(payments, unlabelled).sort_values("occurred_at", kind="stable")
    flagged = rows[rows["score"] >= threshold]
    return pd.DataFrame([_replay(flagged, budget, window_days) for budget in budgets])


def _replay(flagged: pd.DataFrame, budget: int, window_days: float) -> dict[str, float]:
    """Walk flagged payments in time order, spending each customer's budget."""
    window = pd.Timedelta(days=window_days)
    recent: defaultdict[str, deque[pd.Timestamp]] = defaultdict(deque)
    counts = {"challenges": 0, "reviews": 0, "frauds_challenged": 0, "genuine_challenged": 0}
    for customer, when, fraud in flagged[["customer_id", "occurred_at", "fraud"]].itertuples(
        index=False
    ):
        spent = recent[customer]
        while spent and when - spent[0] >= window:
            spent.popleft()
        if len(spent) >= budget:
            counts["reviews"] += 1
            continue
        spent.append(when)
        counts["challenges"] += 1
        counts["frauds_challenged" if fraud else "genuine_challenged"] += 1
    return {"budget": float(budget), **{k: float(v) for k, v in counts.items()}}
