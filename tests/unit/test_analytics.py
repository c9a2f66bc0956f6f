"""friction.analytics on small hand-made event logs: loading, joining, measures, drift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

from friction import analytics as fa
from friction.domain.events import DecisionEvent, DialogueEvent, LabelEvent

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def decision(n: int, score: float, decision: str = "allow", day: int = 0) -> DecisionEvent:
    return DecisionEvent(
        event_id=f"decision:p{n}", at=T0 + timedelta(days=day, minutes=n),
        customer_id=f"c{n % 3}", payment_id=f"p{n}", occurred_at=T0 + timedelta(days=day),
        decision=decision, score=score, model_version="v1", reasons=["LOW_RISK"],
        features={"amount": float(n), "cust_count_1d": None}, amount_minor=1000 * (n + 1),
        currency="EUR", merchant_id="m1", terminal_id="t1", channel="ecom",
    )  # fmt: skip


def dialogue(n: int, state: str, seconds: float, answer: str | None = None) -> DialogueEvent:
    return DialogueEvent(
        event_id=f"dialogue:d{n}:{state}", at=T0 + timedelta(minutes=n, seconds=seconds),
        customer_id=f"c{n % 3}", payment_id=f"p{n}", dialogue_id=f"d{n}", state=state,
        channel="in_app", locale="fr-FR", answer=answer,
    )  # fmt: skip


def label(n: int, value: str, source: str) -> LabelEvent:
    return LabelEvent(
        event_id=f"label:p{n}:{source}", at=T0 + timedelta(days=3), customer_id=f"c{n % 3}",
        payment_id=f"p{n}", label=value, source=source, delay_seconds=3 * 86400.0,  # type: ignore[arg-type]
        merchant_id="m1", terminal_id="t1", occurred_at=T0,
    )  # fmt: skip


EVENTS = {
    "decisions": [
        decision(0, 0.05), decision(1, 0.4, "challenge"), decision(2, 0.6, "challenge"),
        decision(3, 0.95, "decline"), decision(4, 0.2, day=8), decision(5, 0.1, day=8),
    ],
    "dialogues": [
        dialogue(1, "created", 0), dialogue(1, "sent", 1), dialogue(1, "answered", 30, "yes"),
        dialogue(2, "created", 0), dialogue(2, "sent", 1), dialogue(2, "expired", 600),
    ],
    "labels": [
        label(1, "genuine", "customer_confirmed"), label(1, "fraud", "chargeback"),
        label(2, "no_answer", "no_answer"), label(3, "genuine", "analyst"),
        label(4, "fraud", "fraud_report"),
    ],
}  # fmt: skip


def write_log(directory: Path) -> Path:
    events = directory / "events"
    events.mkdir(parents=True)
    for topic, items in EVENTS.items():
        lines = b"".join(e.model_dump_json(by_alias=True).encode() + b"\n" for e in items)
        (events / f"{topic}.jsonl").write_bytes(lines)
    return directory


@pytest.fixture
def payments(tmp_path: Path) -> pd.DataFrame:
    return fa.payments_frame(fa.load_events(write_log(tmp_path)))


def test_loaders_type_columns(tmp_path: Path) -> None:
    events = fa.load_events(write_log(tmp_path))
    d = events.decisions
    assert str(d["at"].dt.tz) == "UTC" and str(d["occurred_at"].dt.tz) == "UTC"
    assert isinstance(d["decision"].dtype, pd.CategoricalDtype)
    assert list(d["decision"].cat.categories) == ["allow", "challenge", "review", "decline"]
    assert fa.feature_columns(d) == ["f_amount", "f_cust_count_1d"]
    assert d["f_cust_count_1d"].isna().all()
    assert events.dialogues["language"].iloc[0] == "fr"
    assert isinstance(events.labels["source"].dtype, pd.CategoricalDtype)


def test_partitioned_json_lines_sink_reads_like_the_log(tmp_path: Path) -> None:
    sink = tmp_path / "sink" / "labels"
    for n, event in enumerate(EVENTS["labels"]):
        part = sink / f"date=2026-11-0{n % 2 + 1}"
        part.mkdir(parents=True, exist_ok=True)
        row = orjson.loads(event.model_dump_json(by_alias=True))
        (part / f"part-{n}.jsonl").write_bytes(orjson.dumps(row) + b"\n")
    (sink / "_SUCCESS").write_text("")
    from_sink = fa.load_labels(tmp_path / "sink")
    from_log = fa.load_labels(write_log(tmp_path / "log"))
    key = ["event_id"]
    pd.testing.assert_frame_equal(
        from_sink.sort_values(key).reset_index(drop=True),
        from_log.sort_values(key).reset_index(drop=True),
        check_categorical=False,
    )


def test_unknown_dialogue_state_is_kept(tmp_path: Path) -> None:
    write_log(tmp_path)
    extra = dialogue(5, "escalated_timeout", 5).model_dump_json(by_alias=True).encode()
    with (tmp_path / "events" / "dialogues.jsonl").open("ab") as handle:
        handle.write(extra + b"\n")
    states = fa.load_dialogues(tmp_path)["state"]
    assert "escalated_timeout" in set(states.astype(str))


def test_missing_source_says_how_to_make_data(tmp_path: Path) -> None:
    with pytest.raises(fa.SourceNotFound, match="demo-data"):
        fa.load_decisions(tmp_path)


def test_payments_frame_resolves_truth_and_outcome(payments: pd.DataFrame) -> None:
    row = payments.set_index("payment_id")
    assert row.loc["p1", "label"] == "fraud"  # the chargeback beats the customer's yes
    assert row.loc["p1", "outcome"] == "confirmed" and row.loc["p1", "verdict"] == "released"
    assert row.loc["p1", "time_to_answer_s"] == pytest.approx(30.0)
    assert pd.isna(row.loc["p2", "label"]) and row.loc["p2", "label_source"] == "no_answer"
    assert row.loc["p2", "outcome"] == "expired" and row.loc["p2", "verdict"] == "blocked"
    assert row.loc["p3", "verdict"] == "blocked" and not row.loc["p3", "is_fraud"]


def test_ranking_metrics_reuse_training_metrics(payments: pd.DataFrame) -> None:
    metrics = fa.ranking_metrics(payments)
    assert metrics["frauds"] == 2 and metrics["rows"] == 6
    assert 0.0 <= metrics["auc"] <= 1.0
    assert (
        fa.ranking_metrics(payments, unlabelled="drop")["rows"] == 3
    )  # p0, p5 unlabelled; p2 no_answer


def test_threshold_table_and_cost_curve(payments: pd.DataFrame) -> None:
    table = fa.threshold_table(payments, thresholds=[0.0, 0.3, 1.0])
    assert table["flagged"].tolist() == [6, 3, 0]
    assert table.loc[0, "recall"] == 1.0
    assert table.loc[1, "tp"] == 1 and table.loc[1, "precision"] == pytest.approx(1 / 3)
    curve = fa.cost_curve(payments, challenge_cost=2.0, thresholds=[0.3])
    assert curve.loc[0, "fraud_stopped"] == pytest.approx(20.0)  # p1: 2000 minor
    assert curve.loc[0, "net"] == pytest.approx(20.0 - 2 * 2.0)


def test_score_distribution_counts_every_payment(payments: pd.DataFrame) -> None:
    table = fa.score_distribution(payments, bins=4)
    assert table.to_numpy().sum() == 6 and table["fraud"].sum() == 2


def test_card_precision_at_k(payments: pd.DataFrame) -> None:
    daily = fa.card_precision_at_k(payments, k=1)
    assert daily["cards"].tolist() == [1, 1]
    assert daily["precision_at_k"].tolist() == [0.0, 1.0]  # day 0: top card c0 (p3) genuine


def test_false_declines_and_coverage(payments: pd.DataFrame) -> None:
    result = fa.false_declines(payments)
    assert result["blocked"] == 2 and result["blocked_genuine"] == 2
    coverage = fa.label_coverage(payments)
    assert coverage.loc["challenge", "labelled"] == 1 and coverage.loc["decline", "coverage"] == 1


def test_funnel_and_time_to_answer(payments: pd.DataFrame) -> None:
    table = fa.funnel(payments)
    row = table.loc[("in_app", "fr")]
    assert row["challenged"] == 2 and row["sent"] == 2 and row["delivered"] == 1
    assert row["answered"] == 1 and row["confirmed"] == 1 and row["expired"] == 1
    assert row["answer_rate"] == 0.5
    waits = fa.time_to_answer(payments)
    assert waits.loc[("in_app", "fr"), "median_s"] == pytest.approx(30.0)


def test_psi_is_zero_for_same_and_large_for_shifted() -> None:
    rng = np.random.default_rng(0)
    a = pd.Series(rng.normal(size=2000))
    assert fa.psi(a, a) == pytest.approx(0.0, abs=1e-9)
    assert fa.psi(a, a + 2) > 0.25
    assert fa.drift_level(0.05) == "stable" and fa.drift_level(0.3) == "investigate"


def test_drift_table_between_weeks(payments: pd.DataFrame) -> None:
    weeks = fa.weekly_windows(payments)
    assert len(weeks) == 2
    table = fa.drift_table(payments, weeks[0], weeks[1])
    assert set(table["column"]) == {"amount", "cust_count_1d", "score"}
    assert table.attrs["reference_rows"] == 4 and table.attrs["current_rows"] == 2


def test_budget_table_sends_overflow_to_review(payments: pd.DataFrame) -> None:
    table = fa.budget_table(payments, threshold=0.0, budgets=(1, 10))
    tight, loose = table.iloc[0], table.iloc[1]
    assert loose["challenges"] == 6 and loose["reviews"] == 0
    assert tight["challenges"] == 5 and tight["reviews"] == 1  # c0 twice on day 0


def test_reviews_frame_accepts_plain_items() -> None:
    frame = fa.reviews_frame([{"id": "r1", "payment_id": "p1", "created_at": "2026-11-02T10:00Z"}])
    assert str(frame["created_at"].dt.tz) == "UTC" and frame.loc[0, "payment_id"] == "p1"


def test_answers_count_under_their_own_channel_and_a_person_is_its_own_outcome(
    tmp_path: Path,
) -> None:
    ladder = [  # asked in the app, then by SMS; answered in the app while the SMS rung asked
        dialogue(1, "created", 0), dialogue(1, "sent", 1),
        dialogue(1, "escalated_no_answer", 120), dialogue(1, "created", 120),
        dialogue(1, "sent", 121), dialogue(1, "answered", 200, "yes"),
        dialogue(2, "created", 0), dialogue(2, "sent", 1), dialogue(2, "answered", 40, "human"),
    ]  # fmt: skip
    ladder[3:5] = [e.model_copy(update={"channel": "sms"}) for e in ladder[3:5]]
    events = write_log(tmp_path)
    lines = b"".join(e.model_dump_json(by_alias=True).encode() + b"\n" for e in ladder)
    (events / "events" / "dialogues.jsonl").write_bytes(lines)
    payments = fa.payments_frame(fa.load_events(events)).set_index("payment_id")

    assert payments.loc["p1", "first_channel"] == "in_app"
    assert payments.loc["p1", "answer_channel"] == "in_app"
    assert payments.loc["p1", "dialogue_channel"] == "in_app"
    assert payments.loc["p1", "outcome"] == "confirmed"
    assert payments.loc["p2", "outcome"] == "asked_human"
    assert payments.loc["p2", "verdict"] == "review"
    table = fa.funnel(payments.reset_index(), by=["dialogue_channel"])
    assert table.loc["in_app", "answered"] == 2 and table.loc["in_app", "asked_human"] == 1
    assert "sms" not in table.index  # nobody answered by text


def test_psi_within_sampling_noise_is_stable_and_a_real_shift_is_not() -> None:
    rng = np.random.default_rng(1)
    same = [pd.Series(rng.lognormal(3, 1, 130)) for _ in range(2)]
    shifted = pd.Series(rng.lognormal(3.8, 1, 130))
    noise = fa.psi_noise(130, 130, 11)
    assert noise == pytest.approx(23.21 * (2 / 130), rel=1e-3)  # χ²(10) at 0.99
    value = fa.psi(same[0], same[1])
    assert fa.drift_level(value, noise) == "stable"
    assert fa.drift_level(fa.psi(same[0], shifted), noise) == "investigate"
    assert fa.drift_level(0.2, 0.3) == "stable" and fa.drift_level(0.2, 0.05) == "watch"
    assert np.isnan(fa.psi_noise(0, 130, 11)) and fa.drift_level(float("nan")) == "n/a"


def test_drift_table_says_drift_only_beyond_its_noise(payments: pd.DataFrame) -> None:
    weeks = fa.weekly_windows(payments)
    table = fa.drift_table(payments, weeks[0], weeks[1])
    assert {"psi", "noise", "level"} <= set(table.columns)
    flagged = table[table["level"].isin(["watch", "investigate"])]
    assert (flagged["psi"] > flagged["noise"]).all()
    assert table.attrs == {"reference_rows": 4, "current_rows": 2}


def test_blocked_breakdown_adds_up_to_the_false_decline_figures(payments: pd.DataFrame) -> None:
    table = fa.blocked_breakdown(payments)
    totals = fa.false_declines(payments)
    assert table["blocked"].sum() == totals["blocked"] == 2
    assert table["genuine"].sum() == totals["blocked_genuine"]
    assert table["blocked"].to_dict() == {"declined by the model": 1, "no answer in time": 1}
