"""Folds and the removal of known-compromised cards, on hand-made streams with known answers."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from friction.benchmark.protocol import (
    assessment_index,
    check_coverage,
    date_to_day,
    day_to_date,
    folds_for,
    train_index,
)
from friction.errors import InvalidInput
from friction.offline.handbook_stream import DAY_SECONDS, Stream

S = date_to_day(date(2018, 6, 20))  # the first validation fold's training start


def stream(rows: list[tuple[int, int, int]]) -> Stream:
    """(day, card, fraud) rows at noon, one terminal."""
    days = np.array([r[0] for r in rows], dtype=np.int64)
    return Stream(
        transaction_id=np.arange(len(rows), dtype=np.int64),
        ts=days * DAY_SECONDS + 43_200,
        customer=np.array([r[1] for r in rows], dtype=np.int64),
        terminal=np.zeros(len(rows), dtype=np.int64),
        amount=np.full(len(rows), 10.0),
        fraud=np.array([r[2] for r in rows], dtype=np.int64),
    )


def test_fold_dates_follow_the_book() -> None:
    validation = folds_for("validation")
    assert [f.label for f in validation] == ["2018-06-20", "2018-06-27", "2018-07-04", "2018-07-11"]
    first, last = validation[0], validation[-1]
    assert day_to_date(first.assess_days[0]) == date(2018, 7, 4)
    assert day_to_date(first.assess_days[-1]) == date(2018, 7, 10)
    assert day_to_date(last.assess_days[-1]) == date(2018, 7, 31)
    assert folds_for("test")[0].label == "2018-07-25"


def test_train_rows_are_the_seven_training_days_only() -> None:
    data = stream([(S - 1, 1, 0), (S, 1, 0), (S + 6, 2, 0), (S + 7, 3, 0), (S + 14, 4, 0)])
    assert train_index(data, folds_for("validation")[0]).tolist() == [1, 2]


def test_known_compromised_cards_are_removed_per_assessment_day() -> None:
    rows = [
        (S - 1, 9, 1),  # fraud before the fold: the book's procedure does not see it
        (S + 2, 1, 1),  # fraud in the training week: known on every assessment day
        (S + 10, 2, 1),  # fraud in the delay week: known from day S + 18 on
        (S + 15, 3, 1),  # fraud in the assessment week: known only after it
    ]
    rows += [(S + 14 + k, card, 0) for k in range(7) for card in (1, 2, 3, 9)]
    data = stream(rows)
    kept = assessment_index(data, folds_for("validation")[0])
    kept_pairs = {(int(data.day[i]) - S, int(data.customer[i])) for i in kept}
    assert not any(card == 1 for _, card in kept_pairs)
    assert {day for day, card in kept_pairs if card == 2} == {14, 15, 16, 17}
    assert {day for day, card in kept_pairs if card == 3} == set(range(14, 21))
    assert {day for day, card in kept_pairs if card == 9} == set(range(14, 21))


def test_missing_days_are_refused() -> None:
    data = stream([(S + d, 1, 0) for d in range(14)])  # no assessment week
    with pytest.raises(InvalidInput, match="missing days"):
        check_coverage(data, folds_for("validation")[:1])
