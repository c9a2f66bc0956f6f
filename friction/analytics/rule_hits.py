"""What the tenant's rules and lists did on live traffic, from the decision log.

Every decision event records the rules and lists that matched (live and shadow) and
the one that acted (``DecisionEvent.rules``). ``rule_hits`` folds them into one row
per rule version with the truth of the payments it hit, so the question before a
shadow rule is promoted — "what would it have caught, and whom would it have
bothered?" — is a table, with the same truth convention as every other measure
(``measures.truth``: unlabelled payments presumed genuine or dropped). ``matches`` tries
a rule not yet saved on the same frame: the payments it would hit, to read row by row.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from friction.analytics.frames import FEATURE_PREFIX
from friction.analytics.measures import Unlabelled, truth
from friction.domain.payment import Payment
from friction.rules.expressions import Vocabulary
from friction.scoring.features import FEATURE_NAMES
from friction.service.rule_trial import candidate

COLUMNS = (
    "source", "id", "version", "mode", "action", "hits", "acted", "fraud", "genuine",
    "precision", "first_seen", "last_seen",
)  # fmt: skip


def rule_matches(payments: pd.DataFrame, unlabelled: Unlabelled = "genuine") -> pd.DataFrame:
    """One row per (payment, matched rule or list): the payment's decision, score, amount,
    truth, and whether that match made the decision."""
    rows = truth(payments, unlabelled)
    records: list[dict[str, Any]] = []
    for row in rows.itertuples(index=False):
        trace: dict[str, Any] = row.rules if isinstance(row.rules, dict) else {}
        acted = trace.get("acted") or {}
        for match in trace.get("matched") or []:
            records.append({
                "payment_id": row.payment_id, "occurred_at": row.occurred_at,
                "decision": row.decision, "score": row.score, "amount_minor": row.amount_minor,
                "currency": row.currency, "fraud": row.fraud,
                **{k: match[k] for k in ("source", "id", "version", "mode", "action")},
                "acted": _same(match, acted),
            })  # fmt: skip
    return pd.DataFrame.from_records(records, columns=_MATCH_COLUMNS)


def rule_hits(payments: pd.DataFrame, unlabelled: Unlabelled = "genuine") -> pd.DataFrame:
    """Hits per rule version, live and shadow: how many payments it matched, how many it
    decided, how many of those were fraud or genuine, and its precision on them."""
    matches = rule_matches(payments, unlabelled)
    if matches.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    grouped = matches.groupby(["source", "id", "version", "mode", "action"], observed=True)
    table = grouped.agg(
        hits=("payment_id", "nunique"),
        acted=("acted", "sum"),
        fraud=("fraud", "sum"),
        first_seen=("occurred_at", "min"),
        last_seen=("occurred_at", "max"),
    ).reset_index()
    table["genuine"] = table["hits"] - table["fraud"]
    table["precision"] = (table["fraud"] / table["hits"]).round(3)
    return table[list(COLUMNS)].sort_values(
        ["hits", "id"], ascending=[False, True], ignore_index=True
    )


def matches(payments: pd.DataFrame, expression: str) -> pd.Series:
    """Whether a rule's ``expression`` matches each payment of the frame, evaluated as the
    service evaluates it (the logged body, the features the model saw, the score).

    Lists live in the service: an expression reading ``lists`` is refused here like an
    unknown list (try it with ``RulesDesk.backtest``). A payment logged before events
    carried the body counts as no match. A bad expression raises ``InvalidInput`` naming
    line and column.
    """
    test = candidate(Vocabulary(Payment.model_json_schema()), expression, "review")
    columns = [f"{FEATURE_PREFIX}{name}" for name in FEATURE_NAMES]
    features = payments.reindex(columns=columns).to_numpy(dtype=float)
    found = []
    for body, vector, score in zip(payments["payment"], features, payments["score"], strict=True):
        if not isinstance(body, dict):
            found.append(False)
            continue
        named = dict(zip(FEATURE_NAMES, (float(v) for v in vector), strict=True))
        verdict = test.rule_set.evaluate(body, named, 0.0 if math.isnan(score) else score)
        found.append(bool(verdict.matched))
    return pd.Series(found, index=payments.index, name="matches", dtype=bool)


_MATCH_COLUMNS = [
    "payment_id", "occurred_at", "decision", "score", "amount_minor", "currency", "fraud",
    "source", "id", "version", "mode", "action", "acted",
]  # fmt: skip


def _same(match: dict[str, Any], acted: dict[str, Any]) -> bool:
    return all(match.get(k) == acted.get(k) for k in ("source", "id", "version"))
