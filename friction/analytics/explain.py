"""Why one payment got its score: the logged feature vector through the served model.

The decision event holds the exact vector the model saw, so replaying it through
``Model.contributions`` (the same tree walk that produced the reason codes online)
reproduces the score and splits it into per-feature log-odds credits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from friction.analytics.frames import FEATURE_PREFIX
from friction.scoring.explain import explanation_for
from friction.scoring.model import Model


def vector_of(row: pd.Series, model: Model) -> list[float]:
    """The feature vector of a decisions/payments row in the model's order (NaN = missing)."""
    return [float(row.get(f"{FEATURE_PREFIX}{name}", np.nan)) for name in model.feature_names]


def contributions(row: pd.Series, model: Model) -> pd.DataFrame:
    """Per feature: value, contribution (log-odds), reason code; strongest push first.

    The ``bias`` row is the model's base margin; all rows sum to the margin, whose
    sigmoid is ``model.predict(vector)``.
    """
    vector = vector_of(row, model)
    values = dict(zip(model.feature_names, vector, strict=True))
    table = pd.DataFrame(model.contributions(vector), columns=["feature", "contribution"])
    table["value"] = table["feature"].map(values)
    table["reason"] = [
        explanation_for(f).reason.code if f != "bias" else "" for f in table["feature"]
    ]
    order = table["contribution"].abs().sort_values(ascending=False).index
    return table.loc[order, ["feature", "value", "contribution", "reason"]].reset_index(drop=True)


def decision_card(row: pd.Series, model: Model) -> dict[str, object]:
    """What an analyst needs first: decision, logged and replayed score, reasons, outcome."""
    return {
        "payment_id": row["payment_id"],
        "decision": row["decision"],
        "score_logged": float(row["score"]),
        "score_replayed": model.predict(vector_of(row, model)),
        "model_version": str(row["model_version"]),
        "served_by_this_model": str(row["model_version"]) == model.version,
        "reasons": list(row["reasons"]),
        "verdict": row.get("verdict"),
        "label": row.get("label"),
    }
