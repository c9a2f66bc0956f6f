"""Reason codes: the features that pushed a score up, said in plain English.

Reasons come from the model's own per-feature contributions (Saabas path credits, see
``friction.scoring.model``), computed in the same tree walk as the score, so a scored
and explained payment costs about one traversal (~1 µs more than the score alone).
Only features that pushed toward fraud are cited, strongest first, one reason per code
(three velocity windows are one "many payments" reason). Flags and counts are cited
only when set: "first payment to this merchant" must not be said of a known one,
whatever credit a tree path gave it.

A payment of amount 0 (a card check: a card being verified, nothing charged) is never
said to have a high or unusual amount, whatever credit the trees gave the amount features.

The table below covers every name in ``FEATURE_NAMES`` (a test checks it); a feature
added later without an entry still gets a generic reason rather than an error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from friction.domain.decision import Reason
from friction.scoring.model import Model

LOW_RISK_BELOW = 0.30
"""Scores under this get the single LOW_RISK reason; pass the policy's ``challenge_at``."""

LOW_RISK = Reason(code="LOW_RISK", text="Nothing unusual about this payment.")
OTHER_CODE = "OTHER_SIGNAL"
OTHER_TEXT = "Another risk signal in this payment looked unusual."


Cite = Literal["always", "set", "known"]
"""When a feature's reason may be cited: always, only when > 0 (flags, counts, shares),
or only when not missing (ages of events that may not have happened)."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """A feature's reason, and when it may be cited."""

    reason: Reason
    cite: Cite = "always"

    def applies(self, value: float) -> bool:
        """Whether the reason is true of this value (NaN is never "set" nor "known")."""
        if self.cite == "set":
            return value > 0
        if self.cite == "known":
            return not math.isnan(value)
        return True


def _r(code: str, text: str, cite: Cite = "always") -> Explanation:
    return Explanation(Reason(code=code, text=text), cite)


_VELOCITY = _r("VELOCITY_HIGH", "This customer has made many payments in a short time.")
_SPEND = _r("SPEND_HIGH", "This customer's recent spending is higher than usual.")
_AMOUNT_UNUSUAL = _r(
    "AMOUNT_UNUSUAL", "The amount is much higher than this customer usually spends."
)
_TERMINAL_BUSY = _r("TERMINAL_ACTIVITY", "Unusual activity at this terminal.")
_TERMINAL_FRAUD = _r("TERMINAL_FRAUD", "Recent fraud was reported at this terminal.", cite="set")
_TERMINAL_FRAUD_AGE = Explanation(_TERMINAL_FRAUD.reason, cite="known")
_TERMINAL_COMPROMISED = _r(
    "TERMINAL_COMPROMISED",
    "Fraud at ordinary amounts was recently reported at this terminal: it may be compromised.",
    cite="set",
)
_TERMINAL_COMPROMISED_AGE = Explanation(_TERMINAL_COMPROMISED.reason, cite="known")
_MERCHANT_FRAUD = _r("MERCHANT_FRAUD", "Recent fraud was reported at this merchant.", cite="set")

EXPLANATIONS: dict[str, Explanation] = {
    "amount": _r("AMOUNT_HIGH", "The amount is high for a payment like this."),
    "cust_count_1d": _VELOCITY,
    "cust_count_7d": _VELOCITY,
    "cust_count_30d": _VELOCITY,
    "cust_mean_1d": _SPEND,
    "cust_mean_7d": _SPEND,
    "cust_mean_30d": _SPEND,
    "amount_ratio_30d": _AMOUNT_UNUSUAL,
    "amount_zscore_30d": _AMOUNT_UNUSUAL,
    "amount_ratio_median_30d": _AMOUNT_UNUSUAL,
    "amount_rank_30d": _AMOUNT_UNUSUAL,
    "amount_ratio_max_30d": _AMOUNT_UNUSUAL,
    "secs_since_last": _r(
        "TIMING_UNUSUAL", "The time since this customer's previous payment is unusual."
    ),
    "first_counterparty": _r(
        "NEW_MERCHANT", "First payment to this merchant or payee.", cite="set"
    ),
    "first_terminal": _r(
        "NEW_TERMINAL", "First payment from this customer at this terminal.", cite="set"
    ),
    "is_night": _r("UNUSUAL_TIME", "Unusual time of day.", cite="set"),
    "is_weekend": _r("WEEKEND", "Weekend payments like this one carry more risk.", "set"),
    "channel": _r("CHANNEL_RISK", "Payments through this channel carry more risk."),
    "terminal_count_1d": _TERMINAL_BUSY,
    "terminal_count_7d": _TERMINAL_BUSY,
    "terminal_count_30d": _TERMINAL_BUSY,
    "terminal_fraud_7d": _TERMINAL_FRAUD,
    "terminal_fraud_30d": _TERMINAL_FRAUD,
    "terminal_risk_14d": _TERMINAL_FRAUD,
    "terminal_risk_30d": _TERMINAL_FRAUD,
    "terminal_fraud_days_30d": _TERMINAL_FRAUD,
    "terminal_fraud_first_age": _TERMINAL_FRAUD_AGE,
    "terminal_fraud_last_age": _TERMINAL_FRAUD_AGE,
    "terminal_labelled_30d": _r(
        "TERMINAL_LITTLE_KNOWN", "Little is known yet about this terminal's history."
    ),
    "terminal_risk_since_fraud": _TERMINAL_FRAUD,
    "terminal_genuine_after_fraud": _TERMINAL_FRAUD,
    "terminal_clean_before_fraud_age": _TERMINAL_FRAUD_AGE,
    "cust_outliers_14d": _r(
        "AMOUNTS_UNUSUAL_RECENTLY",
        "Several recent payments were much larger than this customer's usual.",
        cite="set",
    ),
    "merchant_fraud_30d": _MERCHANT_FRAUD,
    "merchant_risk_30d": _MERCHANT_FRAUD,
    "terminal_plain_fraud_days_30d": _TERMINAL_COMPROMISED,
    "terminal_plain_fraud_first_age": _TERMINAL_COMPROMISED_AGE,
    "terminal_plain_fraud_last_age": _TERMINAL_COMPROMISED_AGE,
    "terminal_plain_risk_since_fraud": _TERMINAL_COMPROMISED,
    "terminal_plain_genuine_after_fraud": _TERMINAL_COMPROMISED,
    "terminal_plain_clean_before_fraud_age": _TERMINAL_COMPROMISED_AGE,
}


def explanation_for(feature: str) -> Explanation:
    """The feature's reason, or a generic one for a feature this table does not know yet."""
    known = EXPLANATIONS.get(feature)
    if known is not None:
        return known
    return Explanation(Reason(code=f"{OTHER_CODE}_{feature.upper()}", text=OTHER_TEXT))


AMOUNT_CODES = frozenset({"AMOUNT_HIGH", "AMOUNT_UNUSUAL"})
"""Reasons about this payment's own amount: never cited for an amount of 0."""


@lru_cache(maxsize=16)
def _table(names: tuple[str, ...]) -> tuple[Explanation, ...]:
    """Explanations by feature position, built once per feature list (not per call)."""
    return tuple(explanation_for(name) for name in names)


@lru_cache(maxsize=16)
def _amount_position(names: tuple[str, ...]) -> int | None:
    return names.index("amount") if "amount" in names else None


def explain(
    model: Model,
    vector: Sequence[float] | NDArray[np.floating],
    top: int = 3,
    *,
    low_risk_below: float = LOW_RISK_BELOW,
) -> tuple[float, list[Reason]]:
    """Score and reasons of one payment (the hot path's call).

    One tree walk gives the score; the features are credited from the leaves it reached
    only when the score is high enough for reasons to be shown (``docs/decisions-model.md``).
    """
    walked = model.walk(vector)
    if walked.score < low_risk_below:
        return walked.score, [LOW_RISK]
    ranked = model.credit(walked).ranked
    return walked.score, top_reasons(model.feature_names, vector, ranked, top)


def reasons(
    model: Model,
    vector: Sequence[float] | NDArray[np.floating],
    top: int = 3,
    *,
    low_risk_below: float = LOW_RISK_BELOW,
) -> list[Reason]:
    """Up to ``top`` reasons why the score is high; ``[LOW_RISK]`` if it is low."""
    return explain(model, vector, top, low_risk_below=low_risk_below)[1]


def top_reasons(
    names: tuple[str, ...],
    vector: Sequence[float] | NDArray[np.floating],
    ranked: NDArray[np.int32],
    top: int = 3,
) -> list[Reason]:
    """Reasons for the ``ranked`` features (positive credit, largest first), one per code."""
    table = _table(names)
    chosen: list[Reason] = []
    position = _amount_position(names)
    card_check = position is not None and float(vector[position]) == 0.0
    seen: set[str] = set(AMOUNT_CODES) if card_check else set()
    for index in ranked.tolist():
        if index < 0 or len(chosen) >= top:
            break
        explanation = table[index]
        if not explanation.applies(float(vector[index])):
            continue
        if explanation.reason.code not in seen:
            seen.add(explanation.reason.code)
            chosen.append(explanation.reason)
    return chosen or [Reason(code=OTHER_CODE, text=OTHER_TEXT)]
