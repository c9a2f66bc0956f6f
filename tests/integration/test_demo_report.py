"""Demo data from the real service reads like a real fortnight, and the report agrees with itself.

The demo posts its payments at their simulated moments (``demo_timeline``), so answer
times are the customers' (seconds to minutes), not the test machine's; the report's
headline figures are cross-checked against each other and against the measures they
summarise, on that data.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from friction import analytics as fa
from friction.analytics.demo import DemoSummary, make_demo_data
from friction.analytics.report_html import overview, render_report

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> tuple[Path, DemoSummary]:
    directory = tmp_path_factory.mktemp("demo-report") / "demo"
    return directory, make_demo_data(directory, seed=5, payments=300, models_dir=models_dir)


@pytest.fixture(scope="module")
def payments(demo: tuple[Path, DemoSummary]) -> pd.DataFrame:
    return fa.payments_frame(fa.load_events(demo[0]))


def test_the_period_is_two_weeks_after_a_warm_up_kept_apart(
    demo: tuple[Path, DemoSummary], payments: pd.DataFrame
) -> None:
    directory, summary = demo
    assert len(payments) == summary.payments == 300
    span = payments["occurred_at"].max() - payments["occurred_at"].min()
    assert pd.Timedelta(days=12) < span < pd.Timedelta(days=14)
    warmup = fa.payments_frame(fa.load_events(directory / "warmup"))
    assert len(warmup) == summary.warmup_payments > 0
    assert warmup["occurred_at"].max() < payments["occurred_at"].min()
    assert set(warmup["payment_id"]).isdisjoint(payments["payment_id"])


def test_answers_take_seconds_to_minutes(
    demo: tuple[Path, DemoSummary], payments: pd.DataFrame
) -> None:
    waits = payments["time_to_answer_s"].dropna()
    assert len(waits) >= 5
    assert waits.min() > 1.0 and 10.0 < waits.median() < 600.0
    assert waits.max() <= 600.0  # nobody answers after the dialogue's 10 minutes
    decided = payments.dropna(subset=["challenged_at"])
    assert (decided["challenged_at"] >= decided["occurred_at"]).all()  # asked when it was paid
    late = decided["challenged_at"] - decided["occurred_at"]
    assert (late < pd.Timedelta(seconds=5)).all()
    warmup = fa.payments_frame(fa.load_events(demo[0] / "warmup"))
    both = pd.concat([decided, warmup.dropna(subset=["challenged_at"])])
    silent = both[both["outcome"] == "expired"]
    waited = (silent["ended_at"] - silent["challenged_at"]).dt.total_seconds()
    assert len(silent) and waited.between(600, 630).all()  # expired when due, not later


def test_answers_count_under_the_channel_they_came_from(
    demo: tuple[Path, DemoSummary], payments: pd.DataFrame
) -> None:
    dialogues = fa.load_dialogues(demo[0])
    ended = dialogues[dialogues["state"] == "answered"].set_index("payment_id")["channel"]
    frame = payments.set_index("payment_id").loc[ended.index]
    assert (frame["answer_channel"] == ended.astype("string")).all()
    assert (frame["dialogue_channel"] == ended.astype("string")).all()


def _counts(figure: str) -> tuple[int, int]:
    found = re.search(r"\((\d+) of (\d+)\)", figure)
    assert found, figure
    return int(found[1]), int(found[2])


def test_report_figures_describe_the_same_population(
    demo: tuple[Path, DemoSummary], payments: pd.DataFrame
) -> None:
    page = render_report(fa.load_events(demo[0]), source="demo")
    figures = overview(payments)
    for name, figure in figures.items():
        assert f"<th>{name}</th><td>{figure}</td>" in page.replace("&amp;", "&")
    total = len(payments)
    declined, of_declined = _counts(figures["declined by the model"])
    blocked, of_blocked = _counts(figures["blocked in the end (declined, denied or unanswered)"])
    wrong, among = _counts(figures["false-decline rate (genuine among blocked)"])
    challenged, _ = _counts(figures["challenged"])
    assert of_declined == of_blocked == total and among == blocked  # one population each
    assert declined <= blocked  # every decline is blocked; blocks also come from dialogues

    breakdown = fa.blocked_breakdown(payments)
    declines = fa.false_declines(payments)
    assert breakdown["blocked"].sum() == blocked == declines["blocked"]
    assert breakdown["genuine"].sum() == wrong == declines["blocked_genuine"]
    assert breakdown["blocked"].get("declined by the model", 0) == declined
    by_dialogue = breakdown["blocked"].drop("declined by the model", errors="ignore").sum()
    funnel = fa.funnel(payments, by=())
    assert by_dialogue == funnel.loc["all", ["denied", "expired"]].sum()
    assert funnel.loc["all", "challenged"] == challenged
    assert (payments["verdict"] == "blocked").sum() == blocked


def test_drift_is_called_only_beyond_sampling_noise(payments: pd.DataFrame) -> None:
    weeks = fa.weekly_windows(payments)
    table = fa.drift_table(payments, weeks[-2], weeks[-1])
    flagged = table[table["level"].isin(["watch", "investigate"])]
    assert (flagged["psi"] > flagged[["noise"]].assign(floor=0.1).max(axis=1)).all()
    customer = table[table["column"].str.startswith("cust_")]
    assert (customer["level"] != "investigate").all(), customer  # warmed up: no cold start
