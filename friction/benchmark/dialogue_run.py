"""The second, separately labelled run: friction's model when dialogues deliver labels early.

Each *arm* replays friction's features under its own label schedule
(``friction.benchmark.dialogue``) and trains friction's recipe on the same
folds, the same training rows (truth labels, as in the main run) and the same
assessment rows: only the features' knowledge of recent labels differs, so the
gap to the main run's friction row is what the dialogue labels add.

- ``dialogue``: the service's smart-friction policy (default settings) asks
  whom it would ask; their answers are labels within minutes.
- ``dialogue+discovery-N%``: the same, plus discovery: an allowed payment at a
  terminal with no dialogue label for 14 days is challenged with probability N%.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from friction.benchmark.dialogue import Discovery, Spent, dialogue_labels, weekly_scores
from friction.benchmark.models import FRICTION
from friction.benchmark.runner import (
    BarFactory,
    Inputs,
    Scores,
    fold_scores,
    mean_of,
    no_bar,
    std_of,
)
from friction.offline.feature_cache import cached_features
from friction.settings import Settings

ARMS: dict[str, Discovery | None] = {
    "dialogue": None,
    "dialogue+discovery-1%": Discovery(share=0.01, quiet_days=14.0),
    "dialogue+discovery-5%": Discovery(share=0.05, quiet_days=14.0),
}


@dataclass(frozen=True, slots=True)
class ArmResult:
    """One label schedule: friction's scores per fold and the friction it cost."""

    name: str
    discovery: Discovery | None
    folds: list[Scores]
    spent: Spent

    def as_dict(self) -> dict[str, Any]:
        found = self.discovery
        return {
            "discovery": None if found is None else asdict(found),
            "mean": mean_of(self.folds),
            "std": std_of(self.folds),
            "folds": [s.as_dict() for s in self.folds],
            "spent": self.spent.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class DialogueReport:
    """Every arm's results and the run's own runtime."""

    arms: list[ArmResult]
    runtime_s: float

    def as_dict(self) -> dict[str, Any]:
        """The ``dialogue`` key of ``--json``."""
        arms = {arm.name: arm.as_dict() for arm in self.arms}
        return {"arms": arms, "runtime_s": round(self.runtime_s, 1)}


def run_dialogue(
    inputs: Inputs,
    settings: Settings,
    arms: dict[str, Discovery | None] | None = None,
    bar: BarFactory = no_bar,
) -> DialogueReport:
    """Every arm: its label schedule, its feature replay (cached), friction's model per fold."""
    started = time.perf_counter()
    stream = inputs.stream
    with bar("weekly scorer", None):
        scores = weekly_scores(stream, inputs.ours)
    results: list[ArmResult] = []
    for name, discovery in (arms if arms is not None else ARMS).items():
        with bar(f"policy and answers, {name}", None):
            labels, spent = dialogue_labels(stream, scores, settings, discovery)
        with bar(f"features, {name} labels (replay)", len(stream)) as advance:
            features = cached_features(
                stream, inputs.data_key, inputs.cache_dir, progress=advance, labels=labels
            )
        folds = [fold_scores(stream, fold, features, FRICTION) for fold in inputs.folds]
        results.append(ArmResult(name, discovery, folds, spent))
    return DialogueReport(results, time.perf_counter() - started)
