"""The dialogue-label run: label schedules, the policy's quick labels, discovery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from friction.benchmark.dialogue import Discovery, dialogue_labels, weekly_scores
from friction.offline.feature_cache import LabelSchedule, delayed_labels, replay_features
from friction.offline.handbook_stream import DAY_SECONDS, Stream, load_stream
from friction.offline.policy_replay import REVIEW_DELAY_S
from friction.scoring.features import FEATURE_NAMES
from friction.settings import Settings
from tests.unit._handbook_stream import write_handbook_csv

DELAY = 7 * DAY_SECONDS
FRAUD_30D = FEATURE_NAMES.index("terminal_fraud_30d")


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Stream:
    path = tmp_path_factory.mktemp("handbook") / "transactions-2018-04.csv"
    return load_stream([write_handbook_csv(path, days=35)])


@pytest.fixture(scope="module")
def features(stream: Stream) -> np.ndarray:
    return replay_features(stream)


@pytest.fixture(scope="module")
def scores(stream: Stream, features: np.ndarray) -> np.ndarray:
    return weekly_scores(stream, features)


def policy(**overrides: object) -> Settings:
    """Smart friction that asks at a modest score and never declines outright (all asked)."""
    values: dict[str, object] = {
        "challenge_at": 0.3,
        "decline_at": 1.0,
        "explore_share": 0.0,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def test_the_protocol_schedule_is_the_default_replay(stream: Stream, features: np.ndarray) -> None:
    np.testing.assert_array_equal(replay_features(stream, delayed_labels(stream)), features)


def test_a_quick_label_reaches_the_terminal_within_the_hour(stream: Stream) -> None:
    arrival = np.where(stream.fraud == 1, stream.ts + 60.0, stream.ts + DELAY).astype(np.float64)
    quick = replay_features(stream, LabelSchedule(arrival, stream.fraud))
    first_fraud = float(stream.ts[stream.fraud == 1].min())
    before = stream.ts < first_fraud + 60.0
    inside_delay = (stream.ts >= first_fraud + 3600.0) & (stream.ts < first_fraud + DELAY)
    assert np.all(quick[before, FRAUD_30D] == 0)  # nothing is known before it arrives
    assert np.nanmax(quick[inside_delay, FRAUD_30D]) > 0  # known days before the protocol's


def test_weekly_scores_start_after_a_training_and_a_delay_week(
    stream: Stream, scores: np.ndarray
) -> None:
    day = stream.day - stream.day.min()
    assert np.all(scores[day < 14] == 0)
    served = scores[day >= 14]
    assert served.min() > 0 and served.max() < 1
    frauds = stream.fraud[day >= 14] == 1
    assert served[frauds].mean() > served[~frauds].mean()  # the scorer ranks, not just fills


def test_only_challenged_payments_get_quick_labels(stream: Stream, scores: np.ndarray) -> None:
    settings = policy()
    labels, spent = dialogue_labels(stream, scores, settings)
    wait = labels.arrival - stream.ts
    quick = wait < DELAY
    assert quick.sum() == spent.quick_labels > 0
    assert np.all(wait[quick] > 0) and np.all(wait[quick] <= REVIEW_DELAY_S)
    assert np.all(labels.fraud[~quick] == stream.fraud[~quick])  # the rest: truth, 7 days late
    assert not quick[scores == 0].any()  # no model, no policy, no challenge
    assert 0 < spent.quick_frauds <= int(labels.fraud[quick].sum())
    assert spent.challenges >= spent.genuine_challenged


def test_discovery_spreads_quick_labels_over_quiet_terminals(
    stream: Stream, scores: np.ndarray
) -> None:
    settings = policy()
    plain_labels, plain = dialogue_labels(stream, scores, settings)
    labels, spent = dialogue_labels(stream, scores, settings, Discovery(share=0.3, quiet_days=2))
    assert spent.discovery_challenges > 0
    assert spent.challenges > plain.challenges
    assert spent.quick_labels > plain.quick_labels

    def terminals(schedule: LabelSchedule) -> int:
        return len(set(stream.terminal[schedule.arrival - stream.ts < DELAY].tolist()))

    assert terminals(labels) > terminals(plain_labels)


def test_schedules_are_cached_apart(stream: Stream, tmp_path: Path) -> None:
    from friction.offline.feature_cache import cached_features

    arrival = np.where(stream.fraud == 1, stream.ts + 60.0, stream.ts + DELAY).astype(np.float64)
    quick = LabelSchedule(arrival, stream.fraud)
    delayed = cached_features(stream, "data", tmp_path)
    fresh = cached_features(stream, "data", tmp_path, labels=quick)
    assert len(list(tmp_path.iterdir())) == 2
    assert not np.array_equal(np.nan_to_num(delayed), np.nan_to_num(fresh))
    np.testing.assert_array_equal(cached_features(stream, "data", tmp_path, labels=quick), fresh)
