"""What the tenant's rules and lists did on live traffic, from the decision log.

Every decision event records the rules and lists that matched (live and shadow) and
the one that acted (``DecisionEvent.rules``). ``rule_hits`` folds them into one row
per rule version with the truth of the payments it hit, so the question before a
shadow rule is promoted — "what would it have caught, and whom would it have
bothered?" — is a table, with the same truth convention as every other measure
(``measures.truth``: unlabelled payments presumed genuine or dropped).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from friction.analytics.measures import Unlabelled, truth

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


_MATCH_COLUMNS = [
    "payment_id", "occurred_at", "decision", "score", "amount_minor", "currency", "fraud",
    "source", "id", "version", "mode", "action", "acted",
]  # fmt: skip


def _same(match: dict[str, Any], acted: dict[str, Any]) -> bool:
    return all(match.get(k) == acted.get(k) for k in ("source", "id", "version"))
