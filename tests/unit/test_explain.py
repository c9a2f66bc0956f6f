"""Reason codes: every feature explained, only fraud-ward features cited, flags only when set."""

from __future__ import annotations

import math

import numpy as np
import pytest

from friction.domain.decision import Reason
from friction.scoring.explain import (
    EXPLANATIONS,
    LOW_RISK,
    OTHER_TEXT,
    explain,
    explanation_for,
    reasons,
    top_reasons,
)
from friction.scoring.features import FEATURE_NAMES
from tests.unit.test_model import random_data, tiny_model


def test_every_feature_has_a_plain_reason() -> None:
    missing = [name for name in FEATURE_NAMES if name not in EXPLANATIONS]
    assert missing == [], f"add reasons for {missing} in friction/scoring/explain.py"
    for explanation in EXPLANATIONS.values():
        assert explanation.reason.code.isupper()
        assert explanation.reason.text.endswith(".")


def test_an_unknown_feature_gets_a_generic_reason() -> None:
    explanation = explanation_for("brand_new_feature")
    assert explanation.reason.code == "OTHER_SIGNAL_BRAND_NEW_FEATURE"
    assert explanation.reason.text == OTHER_TEXT


def test_a_low_score_has_one_low_risk_reason() -> None:
    model = tiny_model()
    row = random_data(1, seed=1)[0]
    assert reasons(model, row, low_risk_below=1.0) == [LOW_RISK]


def test_only_scores_at_or_above_the_threshold_are_credited() -> None:
    model = tiny_model(depth=5, trees=40)
    rows = random_data(60, seed=3)
    threshold = float(np.median([model.predict(row) for row in rows]))
    for row in rows:
        score, got = explain(model, row, low_risk_below=threshold)
        assert score == model.predict(row)  # the same walk, not a second estimate
        if score < threshold:
            assert got == [LOW_RISK]
        else:
            assert got == explain(model, row, low_risk_below=0.0)[1]
            assert LOW_RISK not in got


def test_reasons_follow_the_largest_positive_contributions() -> None:
    model = tiny_model(depth=5, trees=40)
    for row in random_data(40, seed=2):
        score, got = explain(model, row, top=3, low_risk_below=0.0)
        assert score == pytest.approx(model.predict(row))
        assert 1 <= len(got) <= 3
        assert len({r.code for r in got}) == len(got)
        pairs = model.contributions(row)[:-1]
        best = max(
            (p for p in pairs if EXPLANATIONS[p[0]].applies(row[FEATURE_NAMES.index(p[0])])),
            key=lambda p: p[1],
        )
        if best[1] > 0:
            assert got[0] == EXPLANATIONS[best[0]].reason


def test_flags_are_cited_only_when_set() -> None:
    names = ("first_counterparty", "amount_ratio_30d", "terminal_fraud_last_age")
    ranked = np.array([0, 2, 1], dtype=np.int32)
    got = top_reasons(names, [0.0, 5.0, math.nan], ranked)
    assert [r.code for r in got] == ["AMOUNT_UNUSUAL"]
    got = top_reasons(names, [1.0, 5.0, 0.0], ranked)
    assert [r.code for r in got] == ["NEW_MERCHANT", "TERMINAL_FRAUD", "AMOUNT_UNUSUAL"]


def test_no_positive_contribution_still_gives_a_reason() -> None:
    got = top_reasons(("amount",), [1.0], np.array([-1], dtype=np.int32))
    assert got == [Reason(code="OTHER_SIGNAL", text=OTHER_TEXT)]
