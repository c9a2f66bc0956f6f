"""Feature semantics on hand-made histories with known answers."""

from __future__ import annotations

import math

from friction.domain.facts import DAY, PaymentFacts
from friction.scoring.features import FEATURE_NAMES, FeatureBook, unusual_amount

T0 = 1_700_000_000.0 - (1_700_000_000.0 % DAY) + 12 * 3600  # a noon, UTC


def facts(ts: float, amount: float, merchant: str = "m1", terminal: str = "t1") -> PaymentFacts:
    return PaymentFacts(ts, amount, "c1", merchant, terminal, merchant, "pos")


def named(vector: list[float]) -> dict[str, float]:
    return dict(zip(FEATURE_NAMES, vector, strict=True))


def test_first_payment_has_no_history() -> None:
    first = named(FeatureBook().observe(facts(T0, 50.0)))
    assert first["cust_count_1d"] == 1.0 and first["cust_mean_30d"] == 50.0
    assert math.isnan(first["amount_ratio_30d"]) and math.isnan(first["secs_since_last"])
    assert first["first_counterparty"] == 1.0 and first["first_terminal"] == 1.0
    assert first["is_night"] == 0.0


def test_windows_count_and_average_including_the_current_payment() -> None:
    book = FeatureBook()
    book.observe(facts(T0 - 20 * DAY, 10.0))
    book.observe(facts(T0 - 3 * DAY, 20.0))
    book.observe(facts(T0 - 3600, 30.0))
    now = named(book.observe(facts(T0, 300.0)))
    assert (now["cust_count_1d"], now["cust_count_7d"], now["cust_count_30d"]) == (2.0, 3.0, 4.0)
    assert now["cust_mean_1d"] == 165.0
    assert now["amount_ratio_30d"] == 300.0 / 20.0  # against earlier payments only
    assert now["secs_since_last"] == 3600.0
    assert now["first_counterparty"] == 0.0


def test_labels_feed_terminal_risk_only_after_they_arrive() -> None:
    book = FeatureBook()
    day = int(T0 // DAY)
    book.observe(facts(T0, 10.0, terminal="t9"))
    before = named(book.observe(facts(T0 + 60, 10.0, terminal="t9")))
    assert before["terminal_fraud_30d"] == 0.0 and math.isnan(before["terminal_risk_30d"])
    book.label("m1", "t9", day, True, False)
    book.label("m1", "t9", day, False, False)
    after = named(book.observe(facts(T0 + 120, 10.0, terminal="t9")))
    assert after["terminal_fraud_30d"] == 1.0 and after["terminal_risk_30d"] == 0.5
    assert after["terminal_count_1d"] == 3.0  # two earlier payments plus this one


def test_a_fraud_at_an_unusual_amount_is_the_cards_not_the_terminals() -> None:
    """A drained card's fraud (twice its usual amount or more) marks the terminal less than a
    fraud at an ordinary amount, which is how a skimmed terminal's frauds look."""
    book = FeatureBook()
    day = int(T0 // DAY)
    for k in range(5):  # the customer's usual amount: about 20
        book.observe(facts(T0 - (k + 1) * DAY, 20.0 + k, terminal="t0"))
    drained = book.observe(facts(T0, 90.0, terminal="t9"))
    ordinary = book.observe(facts(T0 + 60, 21.0, terminal="t8"))
    assert unusual_amount(drained) and not unusual_amount(ordinary)
    assert not unusual_amount(FeatureBook().observe(facts(T0, 500.0)))  # no history: not known
    book.label("m1", "t9", day, True, unusual_amount(drained))
    book.label("m1", "t8", day, True, unusual_amount(ordinary))
    at_t9 = named(book.observe(facts(T0 + 120, 20.0, terminal="t9")))
    at_t8 = named(book.observe(facts(T0 + 180, 20.0, terminal="t8")))
    for seen in (at_t9, at_t8):  # both are frauds at the terminal
        assert seen["terminal_fraud_30d"] == 1.0 and seen["terminal_risk_since_fraud"] == 1.0
    assert at_t9["terminal_plain_fraud_days_30d"] == 0.0
    assert math.isnan(at_t9["terminal_plain_risk_since_fraud"])
    assert at_t8["terminal_plain_fraud_days_30d"] == 1.0
    assert at_t8["terminal_plain_fraud_last_age"] == 0.0
    assert at_t8["terminal_plain_risk_since_fraud"] == 1.0


def test_night_and_weekend_flags() -> None:
    saturday_3am = 1_700_870_400.0 + 3 * 3600  # 2023-11-25 03:00 UTC was a Saturday
    flags = named(FeatureBook().observe(facts(saturday_3am, 5.0)))
    assert flags["is_night"] == 1.0 and flags["is_weekend"] == 1.0
