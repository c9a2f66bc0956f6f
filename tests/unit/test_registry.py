"""The registry: versions saved whole, promotion atomic, stale or missing models refused clearly."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pydantic
import pytest

from friction.scoring.features import FEATURE_NAMES
from friction.scoring.registry import (
    CHAMPION,
    ModelCard,
    NoModel,
    SchemaMismatch,
    champion_version,
    library_versions,
    list_versions,
    load_card,
    load_model,
    promote,
    save_candidate,
    schema_hash,
)
from tests.unit.test_model import random_data, train_booster


def card(version: str, names: tuple[str, ...] = FEATURE_NAMES) -> ModelCard:
    return ModelCard(
        version=version,
        created_at=datetime(2026, 11, 23, tzinfo=UTC),
        feature_names=names,
        metrics={"auc": 0.9, "ap": 0.7},
        rows={"train": 400, "test": 100},
        params={"max_depth": 4, "eta": 0.3},
        libraries=library_versions(),
    )


def test_round_trip_scores_like_the_saved_booster(tmp_path: Path) -> None:
    booster = train_booster()
    folder = save_candidate(booster, card("v1"), tmp_path)
    assert folder == tmp_path / "v1"
    assert champion_version(tmp_path) is None
    promote(tmp_path, "v1")
    model = load_model(tmp_path)
    assert model.version == "v1"
    assert model.feature_names == FEATURE_NAMES
    rows = random_data(50, seed=4)
    expected = booster.inplace_predict(rows, missing=np.nan)
    np.testing.assert_allclose([model.predict(r) for r in rows], expected, atol=1e-5)
    assert load_card(tmp_path) == card("v1")
    assert load_card(tmp_path).schema_hash == schema_hash(FEATURE_NAMES)


def test_promote_replaces_the_pointer_atomically(tmp_path: Path) -> None:
    for version in ("v1", "v2"):
        save_candidate(train_booster(seed=len(version)), card(version), tmp_path)
    promote(tmp_path, "v1")
    promote(tmp_path, "v2")
    assert (tmp_path / CHAMPION).read_text() == "v2\n"
    assert sorted(os.listdir(tmp_path)) == [CHAMPION, "v1", "v2"]  # no temp files left
    assert list_versions(tmp_path) == ["v1", "v2"]
    assert load_model(tmp_path, "v1").version == "v1"


def test_promoting_a_missing_version_keeps_the_champion(tmp_path: Path) -> None:
    save_candidate(train_booster(), card("v1"), tmp_path)
    promote(tmp_path, "v1")
    with pytest.raises(NoModel, match="friction train"):
        promote(tmp_path, "v9")
    assert champion_version(tmp_path) == "v1"


def test_a_version_is_never_overwritten(tmp_path: Path) -> None:
    save_candidate(train_booster(), card("v1"), tmp_path)
    with pytest.raises(FileExistsError):
        save_candidate(train_booster(seed=3), card("v1"), tmp_path)


def test_no_champion_says_which_command_makes_one(tmp_path: Path) -> None:
    with pytest.raises(NoModel, match=r"no champion model .* `friction train`"):
        load_model(tmp_path / "models")


def test_a_model_of_other_features_is_refused(tmp_path: Path) -> None:
    renamed = (*FEATURE_NAMES[:-1], "retired_feature")
    save_candidate(train_booster(), card("old", renamed), tmp_path)
    promote(tmp_path, "old")
    with pytest.raises(SchemaMismatch, match="retrain") as caught:
        load_model(tmp_path)
    assert caught.value.fields == ["retired_feature"]


def test_a_card_whose_hash_contradicts_its_features_is_invalid() -> None:
    with pytest.raises(pydantic.ValidationError, match="schema_hash"):
        ModelCard(
            version="v1",
            created_at=datetime.now(UTC),
            feature_names=FEATURE_NAMES,
            schema_hash=schema_hash(["something", "else"]),
        )


def test_versions_cannot_escape_the_folder(tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError):
        card("../evil")
    with pytest.raises(NoModel):
        load_model(tmp_path, "../evil")


def test_width_mismatch_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="features"):
        save_candidate(train_booster(), card("v1", FEATURE_NAMES[:3]), tmp_path)
    assert list_versions(tmp_path) == []
