"""Shadow challenger: a second model scores every payment beside the champion and never decides.

Why: a candidate that won on last month's hold-out may still behave differently on
today's traffic (new merchants, a drifting feature, a calibration shift). Scored on the
exact vector the champion saw, its score logged in the decision event beside the
champion's, it can be compared on live payments once their labels mature, before
anybody promotes it.

Cost: about one more compiled tree walk (no contributions) per payment, i.e. the
champion's model stage roughly doubles while the request stays within ~2 % of its
budget (figures in ``docs/decisions.md``, measured by ``loadtest/bench_model.py``).

A challenger that cannot be loaded (pruned from the registry, trained on other features,
corrupt) is skipped with a warning at start-up: it is an experiment whose absence costs
only observations, whereas refusing to start would turn a stale setting into an outage
of every replica at the next deploy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from friction.domain.events import ShadowScore
from friction.errors import FrictionError
from friction.scoring.model import Model
from friction.scoring.registry import load_model

log = logging.getLogger(__name__)


def load_shadow(models_dir: Path, version: str) -> Model | None:
    """The challenger ``version`` (empty: none), or None with a warning if it cannot load."""
    if not version:
        return None
    try:
        model = load_model(models_dir, version)
    except (FrictionError, OSError, ValueError) as error:  # ValueError: a corrupt card
        log.warning(
            "shadow model %s not loaded; scoring with the champion only: %s", version, error
        )
        return None
    log.info("shadow model %s scores beside the champion (logged, never decides)", version)
    return model


def shadow_score(model: Model | None, vector: Sequence[float]) -> ShadowScore | None:
    """The challenger's score of ``vector`` for the decision event; None without a challenger."""
    if model is None:
        return None
    return ShadowScore(model_version=model.version, score=round(model.predict(vector), 6))
