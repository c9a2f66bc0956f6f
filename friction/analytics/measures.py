"""Model and policy measures on the payment-level frame (``payments_frame``).

Labels in fraud are one-sided: a chargeback arrives for a fraud that got through,
nothing arrives for a genuine payment. The usual convention is therefore that a
payment with no fraud label is genuine once it is old enough for a chargeback to
have come; ``truth(frame, unlabelled=...)`` applies it ("genuine", the default) or
drops such payments ("drop") for a strictly-labelled view. Every measure below takes
the same ``unlabelled`` argument.

AUC and AP are ``friction.training.metrics`` — the very functions that gate model
promotion — so a notebook's number and a model card's number agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from friction.offline.metrics import average_precision, roc_auc

Unlabelled = Literal["genuine", "drop"]
DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(np.round(np.linspace(0.0, 1.0, 41), 3))


def truth(frame: pd.DataFrame, unlabelled: Unlabelled = "genuine") -> pd.DataFrame:
    """``frame`` with a plain bool ``fraud`` column, unlabelled rows presumed or dropped."""
    labelled = frame["is_fraud"].notna()
    out = frame if unlabelled == "genuine" else frame[labelled]
    return out.assign(fraud=out["is_fraud"].fillna(False).astype(bool))


def ranking_metrics(frame: pd.DataFrame, unlabelled: Unlabelled = "genuine") -> dict[str, float]:
    """AUC, AP, rows and frauds of the scores against the (resolved) labels."""
    rows = truth(frame, unlabelled)
    y, score = rows["fraud"].to_numpy(), rows["score"].to_numpy(dtype=float)
    return {
        "auc": roc_auc(y, score),
        "ap": average_precision(y, score),
        "rows": float(len(rows)),
        "frauds": float(y.sum()),
    }


def score_distribution(
    frame: pd.DataFrame, bins: int = 20, unlabelled: Unlabelled = "genuine"
) -> pd.DataFrame:
    """Payments per score bin and class (columns ``genuine``, ``fraud``), bins on [0, 1]."""
    rows = truth(frame, unlabelled)
    edges = np.linspace(0.0, 1.0, bins + 1)
    binned = pd.cut(rows["score"], edges.tolist(), include_lowest=True)
    table = pd.crosstab(binned, rows["fraud"]).reindex(columns=[False, True], fill_value=0)
    table.columns = pd.Index(["genuine", "fraud"])
    return table.reindex(binned.cat.categories, fill_value=0)


def threshold_table(
    frame: pd.DataFrame,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    unlabelled: Unlabelled = "genuine",
) -> pd.DataFrame:
    """Per threshold: flagged payments, precision, recall, fraud amount caught, friction rate.

    ``flagged`` means score ≥ threshold — the payments a policy with that cut would
    challenge or decline; ``genuine_flagged_rate`` is the share of good payments asked.
    """
    rows = truth(frame, unlabelled)
    score = rows["score"].to_numpy(dtype=float)
    fraud = rows["fraud"].to_numpy(dtype=bool)
    amount = rows["amount_minor"].to_numpy(dtype=float)
    out = []
    for cut in thresholds:
        flagged = score >= cut
        tp, fp = int((flagged & fraud).sum()), int((flagged & ~fraud).sum())
        out.append({
            "threshold": float(cut),
            "flagged": int(flagged.sum()),
            "tp": tp,
            "fp": fp,
            "precision": tp / (tp + fp) if tp + fp else np.nan,
            "recall": tp / fraud.sum() if fraud.sum() else np.nan,
            "fraud_amount_caught": _share(amount[flagged & fraud], amount[fraud]),
            "genuine_flagged_rate": fp / (~fraud).sum() if (~fraud).sum() else np.nan,
        })  # fmt: skip
    return pd.DataFrame(out)


def cost_curve(
    frame: pd.DataFrame,
    challenge_cost: float = 1.0,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    unlabelled: Unlabelled = "genuine",
) -> pd.DataFrame:
    """``threshold_table`` plus money: fraud stopped vs the cost of challenging good customers.

    ``challenge_cost`` is the cost, in the payments' currency units, of asking one
    genuine customer (support contact, abandonment); ``net`` = fraud stopped − that cost.
    """
    table = threshold_table(frame, thresholds, unlabelled)
    rows = truth(frame, unlabelled)
    score = rows["score"].to_numpy(dtype=float)
    fraud = rows["fraud"].to_numpy(dtype=bool)
    major = rows["amount_minor"].to_numpy(dtype=float) / 100.0
    table["fraud_stopped"] = [float(major[(score >= t) & fraud].sum()) for t in table["threshold"]]
    table["friction_cost"] = table["fp"] * challenge_cost
    table["net"] = table["fraud_stopped"] - table["friction_cost"]
    return table


def card_precision_at_k(
    frame: pd.DataFrame,
    k: int = 10,
    entity: str = "customer_id",
    unlabelled: Unlabelled = "genuine",
) -> pd.DataFrame:
    """Per day: of the ``k`` cards (entities) with the highest score, how many had fraud.

    This is what an investigation team with capacity for ``k`` cards a day sees. The
    decision events carry the customer id, not the instrument token, so ``entity``
    defaults to the customer; pass another column if your frame has one.
    """
    rows = truth(frame, unlabelled)
    cards = rows.groupby(["day", entity], observed=True).agg(
        score=("score", "max"), fraud=("fraud", "any")
    )
    top = cards.sort_values("score", ascending=False).groupby(level="day").head(k)
    daily = top.groupby(level="day").agg(cards=("fraud", "size"), frauds=("fraud", "sum"))
    daily["precision_at_k"] = daily["frauds"] / k
    daily.index = pd.Index(pd.DatetimeIndex(daily.index).date, name="day")
    return daily


def false_declines(frame: pd.DataFrame, unlabelled: Unlabelled = "genuine") -> dict[str, float]:
    """Blocked payments (declined, denied or unanswered) that were genuine, two ways.

    ``false_decline_rate`` = genuine among blocked (how often a block is wrong);
    ``genuine_blocked_rate`` = blocked among genuine (how often a good customer is hurt).
    """
    rows = truth(frame, unlabelled)
    blocked = rows["verdict"] == "blocked"
    genuine = ~rows["fraud"]
    wrong = int((blocked & genuine).sum())
    return {
        "blocked": float(blocked.sum()),
        "blocked_genuine": float(wrong),
        "false_decline_rate": float(wrong / blocked.sum()) if blocked.sum() else float("nan"),
        "genuine_blocked_rate": float(wrong / genuine.sum()) if genuine.sum() else float("nan"),
    }


BLOCKED_BY = {"decline": "declined by the model", "denied": "denied by the customer",
              "expired": "no answer in time"}  # fmt: skip
"""How a payment ends blocked: the decision itself, or its challenge's outcome."""


def blocked_breakdown(frame: pd.DataFrame, unlabelled: Unlabelled = "genuine") -> pd.DataFrame:
    """The blocked payments of ``false_declines`` by how they were blocked, with the genuine
    among them: its rows add up to its totals, so a report can show both side by side."""
    rows = truth(frame, unlabelled)
    rows = rows[rows["verdict"] == "blocked"]
    how = rows["decision"].astype("string").where(rows["decision"] != "challenge")
    how = how.fillna(rows["outcome"].astype("string")).map(BLOCKED_BY).fillna("other")
    table = (
        rows.assign(how=how, genuine=~rows["fraud"])
        .groupby("how")
        .agg(blocked=("payment_id", "size"), genuine=("genuine", "sum"))
    )
    order = [*BLOCKED_BY.values(), "other"]
    table = table.reindex([h for h in order if h in table.index]).astype("int64")
    table["genuine_share"] = table["genuine"] / table["blocked"]
    return table


def label_coverage(frame: pd.DataFrame, by: str | list[str] = "decision") -> pd.DataFrame:
    """Per group: payments, labelled payments (fraud or genuine), coverage, frauds labelled."""
    labelled = frame["is_fraud"].notna()
    grouped = frame.assign(labelled=labelled, fraud=frame["is_fraud"].fillna(False).astype(bool))
    table = grouped.groupby(by, observed=True).agg(
        payments=("payment_id", "size"), labelled=("labelled", "sum"), frauds=("fraud", "sum")
    )
    table["coverage"] = table["labelled"] / table["payments"]
    return table


def label_sources(frame: pd.DataFrame) -> pd.DataFrame:
    """Payments per winning label source and label (where the truth came from)."""
    return pd.crosstab(
        frame["label_source"].astype("string").fillna("none"),
        frame["label"].astype("string").fillna("unlabelled"),
    )


def _share(part: np.ndarray, whole: np.ndarray) -> float:
    total = float(whole.sum())
    return float(part.sum()) / total if total else float("nan")
