"""The handbook metrics and baseline features on hand-made cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from friction.benchmark.baseline import BASELINE_FEATURES, baseline_features
from friction.offline.handbook_stream import DAY_SECONDS, F64, I64, Stream
from friction.offline.metrics import average_precision, card_precision_at_k, roc_auc


def arr(values: list[float]) -> F64:
    return np.array(values, dtype=np.float64)


def ints(values: list[int]) -> I64:
    return np.array(values, dtype=np.int64)


def test_auc_and_average_precision() -> None:
    labels, scores = ints([0, 0, 1, 1]), arr([0.1, 0.4, 0.35, 0.8])
    assert roc_auc(labels, scores) == pytest.approx(0.75)
    assert average_precision(labels, scores) == pytest.approx((1 + 2 / 3) / 2)


def test_tied_scores_form_one_step() -> None:
    labels, scores = ints([0, 1]), arr([0.5, 0.5])
    assert roc_auc(labels, scores) == pytest.approx(0.5)
    assert average_precision(labels, scores) == pytest.approx(0.5)


def test_card_precision_aggregates_cards_and_skips_caught_ones() -> None:
    days = ints([1, 1, 1, 1, 2, 2, 2, 2])
    cards = ints([1, 1, 2, 3, 1, 3, 4, 5])
    labels = ints([0, 1, 0, 1, 1, 1, 0, 0])
    # day 1: card 1 (max score .9, fraud), card 2 (.8), card 3 (.1, fraud) -> top 2 = {1, 2}
    # day 2: card 1 was caught, so top 2 = {3, 4} -> one fraud
    scores = arr([0.9, 0.2, 0.8, 0.1, 0.95, 0.7, 0.6, 0.1])
    assert card_precision_at_k(days, cards, labels, scores, k=2) == pytest.approx(0.5)
    # precision divides by k even when fewer cards are left
    assert card_precision_at_k(ints([1]), ints([7]), ints([1]), arr([0.3]), k=4) == 0.25


def test_baseline_windows_include_now_for_cards_and_skip_the_delay_for_terminals() -> None:
    day = 17_698  # 2018-06-16, a Saturday
    ts = ints([0, 3_600, 9 * DAY_SECONDS, 9 * DAY_SECONDS + 60]) + day * DAY_SECONDS + 43_200
    data = Stream(
        transaction_id=ints([0, 1, 2, 3]),
        ts=ts,
        customer=ints([1, 1, 1, 2]),
        terminal=ints([5, 5, 5, 5]),
        amount=arr([10.0, 20.0, 60.0, 5.0]),
        fraud=ints([1, 0, 0, 0]),
    )
    named = dict(zip(BASELINE_FEATURES, baseline_features(data).T, strict=True))
    assert named["CUSTOMER_ID_NB_TX_1DAY_WINDOW"].tolist() == [1, 2, 1, 1]
    assert named["CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW"].tolist() == [10, 15, 30, 5]
    # terminal windows (t - 7 - n, t - 7]: the last two see the first two payments
    assert named["TERMINAL_ID_NB_TX_7DAY_WINDOW"].tolist() == [0, 0, 2, 2]
    assert named["TERMINAL_ID_RISK_7DAY_WINDOW"].tolist() == [0, 0, 0.5, 0.5]
    assert named["TERMINAL_ID_NB_TX_1DAY_WINDOW"].tolist() == [0, 0, 0, 0]
    assert named["TX_DURING_WEEKEND"].tolist() == [1, 1, 0, 0]
