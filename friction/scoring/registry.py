"""The model registry: a folder of versioned models, their cards, and a champion pointer.

    models/
      CHAMPION                 the served version's name, one line
      <version>/model.json     XGBoost JSON
      <version>/card.json      ``ModelCard``: features, schema hash, data window, metrics
      <version>/policy.json    ``PolicyFit``: the policy's parameters fitted on the hold-out

A folder, not a database: the service, ``friction train`` and notebooks read it with
the same functions, and a copy of the folder is a backup. Every write is a temp file
or temp folder renamed into place, so a reader never sees half a model, and promotion
(one ``os.replace`` of CHAMPION) is atomic: a hot-swapping service sees the old or the
new champion, never neither.

Errors (below ``friction.errors.FrictionError``):

    NoModel (503)             no champion / no such version; says how to make one
    └── SchemaMismatch (503)  the model was trained on other features; retrain
"""

from __future__ import annotations

import hashlib
import heapq
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from friction.errors import NoModel, SchemaMismatch
from friction.scoring.features import FEATURE_NAMES
from friction.scoring.model import Model
from friction.scoring.policy import DEFAULT_FIT, PolicyFit

CHAMPION = "CHAMPION"
MODEL_FILE = "model.json"
CARD_FILE = "card.json"
POLICY_FILE = "policy.json"
SKETCH_SIZE = 512
"""Payments a card's sketch keeps: of a model trained on 276,000 payments (the bundled one),
one shared day of 6,000 payments shows ~11 in it (missed with a chance of e^-11 ≈ 2e-5)."""
TRAIN_HINT = "run `friction train` to train and promote one"
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def schema_hash(names: Sequence[str]) -> str:
    """sha256 of the feature names in order: a model and the code must agree on it."""
    return hashlib.sha256(",".join(names).encode()).hexdigest()


def library_versions() -> dict[str, str]:
    """Versions that decide how a model trains and scores, for the card."""
    import xgboost

    return {
        "xgboost": str(xgboost.__version__),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


class ModelCard(BaseModel):
    """What a model is, what it learned from and how well it did: ``card.json``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: str = Field(description="folder name under models/; sortable by time")
    created_at: datetime
    feature_names: tuple[str, ...] = FEATURE_NAMES
    schema_hash: str = Field(description="schema_hash(feature_names); derived if left out")
    train_start: datetime | None = None
    train_end: datetime | None = None
    test_start: datetime | None = None
    test_end: datetime | None = None
    data_hash: str = Field("", description="sha256 of the training data")
    rows: dict[str, int] = Field(default_factory=dict, description="e.g. train, test, frauds")
    metrics: dict[str, float] = Field(default_factory=dict, description="on the hold-out")
    params: dict[str, Any] = Field(default_factory=dict, description="training parameters")
    libraries: dict[str, str] = Field(default_factory=dict, description="library versions")
    payments_sketch: list[str] = Field(
        default_factory=list,
        description="the SKETCH_SIZE smallest fingerprints of the data's payments (hex)",
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_hash(cls, data: Any) -> Any:
        """Derive the schema hash from the feature names when the caller left it out."""
        if isinstance(data, dict) and not data.get("schema_hash"):
            data = {**data, "schema_hash": schema_hash(data.get("feature_names", FEATURE_NAMES))}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ModelCard:
        """A card whose hash does not describe its own feature list is corrupt."""
        if not _VERSION.match(self.version):
            raise ValueError(f"version {self.version!r}: use letters, digits, '.', '_', '-'")
        if self.schema_hash != schema_hash(self.feature_names):
            raise ValueError("schema_hash does not match feature_names")
        return self


def fingerprint(payment_id: str, ts: float) -> int:
    """A payment's identity (its id and time) as a 64-bit number."""
    digest = hashlib.blake2b(f"{payment_id}@{ts:.0f}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def payments_sketch(ids: Sequence[str], ts: Sequence[float]) -> list[str]:
    """The ``SKETCH_SIZE`` smallest fingerprints of a data set's payments, as hex.

    Every payment of the data whose fingerprint is at most the sketch's largest is in
    the sketch, so a replayed payment in that range was trained on exactly when it is
    in the sketch: shared payments are found, never guessed from dates.
    """
    unique = {fingerprint(i, t) for i, t in zip(ids, ts, strict=True)}
    smallest = heapq.nsmallest(SKETCH_SIZE, unique)
    return [f"{f:016x}" for f in smallest]


def shared_payments(card: ModelCard, ids: Sequence[str], ts: Sequence[float]) -> int:
    """How many of these payments the card's sketch shows the model was trained on."""
    if not card.payments_sketch:
        return 0
    sketch = {int(h, 16) for h in card.payments_sketch}
    top = max(sketch)
    found = (fingerprint(i, t) for i, t in zip(ids, ts, strict=True))
    return sum(1 for f in found if f <= top and f in sketch)


def save_candidate(
    booster: Any, card: ModelCard, models_dir: Path, policy: PolicyFit | None = None
) -> Path:
    """Write ``<version>/model.json``, ``card.json`` and the policy fit if any (not promoted)."""
    width = int(booster.num_features())
    if width != len(card.feature_names):
        raise ValueError(f"booster has {width} features, card {len(card.feature_names)}")
    target = Path(models_dir) / card.version
    if target.exists():
        raise FileExistsError(f"model version {card.version} already exists in {models_dir}")
    Path(models_dir).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{card.version}-", dir=models_dir))
    try:
        (staging / MODEL_FILE).write_bytes(bytes(booster.save_raw("json")))
        (staging / CARD_FILE).write_text(card.model_dump_json(indent=2) + "\n")
        if policy is not None:
            (staging / POLICY_FILE).write_text(policy.model_dump_json(indent=2) + "\n")
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def list_versions(models_dir: Path) -> list[str]:
    """Saved versions, oldest first (version names sort by time)."""
    if not Path(models_dir).is_dir():
        return []
    found = (p.name for p in Path(models_dir).iterdir() if (p / CARD_FILE).is_file())
    return sorted(v for v in found if _VERSION.match(v))


def champion_version(models_dir: Path) -> str | None:
    """The promoted version, or None if nothing was ever promoted."""
    try:
        name = (Path(models_dir) / CHAMPION).read_text().strip()
    except FileNotFoundError:
        return None
    return name or None


def promote(models_dir: Path, version: str) -> None:
    """Make ``version`` the champion, atomically (temp file + fsync + ``os.replace``)."""
    load_card(models_dir, version)  # refuse to point at a missing or corrupt model
    if not (Path(models_dir) / version / MODEL_FILE).is_file():
        raise NoModel(f"model {version} has no {MODEL_FILE} in {models_dir}; {TRAIN_HINT}")
    fd, tmp = tempfile.mkstemp(prefix=".CHAMPION-", dir=models_dir)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(version + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, Path(models_dir) / CHAMPION)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_card(models_dir: Path, version: str | None = None) -> ModelCard:
    """The card of ``version`` (default: the champion)."""
    version = _resolve(models_dir, version)
    path = Path(models_dir) / version / CARD_FILE
    try:
        return ModelCard.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise NoModel(f"model {version} not found in {models_dir}; {TRAIN_HINT}") from None


def load_policy(models_dir: Path, version: str | None = None) -> PolicyFit:
    """The policy fitted beside ``version`` (default: the champion), or the defaults."""
    path = Path(models_dir) / _resolve(models_dir, version) / POLICY_FILE
    try:
        return PolicyFit.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return DEFAULT_FIT


def load_model(models_dir: Path, version: str | None = None) -> Model:
    """The model ``version`` (default: the champion), checked against ``FEATURE_NAMES``."""
    card = load_card(models_dir, version)
    if card.schema_hash != schema_hash(FEATURE_NAMES):
        raise SchemaMismatch(
            f"model {card.version} was trained on other features than this code computes "
            f"(schema {card.schema_hash[:12]} vs {schema_hash(FEATURE_NAMES)[:12]}); "
            "retrain with `friction train`",
            fields=[n for n in card.feature_names if n not in FEATURE_NAMES],
        )
    raw = (Path(models_dir) / card.version / MODEL_FILE).read_bytes()
    return Model(raw, version=card.version, feature_names=card.feature_names)


def _resolve(models_dir: Path, version: str | None) -> str:
    """``version`` validated, or the champion's name; NoModel if there is none."""
    if version is None:
        version = champion_version(models_dir)
        if version is None:
            raise NoModel(f"no champion model in {models_dir}; {TRAIN_HINT}")
    if not _VERSION.match(version):
        raise NoModel(f"{version!r} is not a model version")
    return version
