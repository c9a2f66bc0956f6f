"""The model being served, and its hot swap: a new champion without a restart or a dropped request.

A request reads ``slot.model`` once and uses that object to the end, so
swapping the attribute between requests is atomic from every request's point
of view. The new model is loaded (and its kernels compiled) off the event
loop; a model that fails to load is logged and the current one keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from friction.aio import checkpoint
from friction.errors import FrictionError
from friction.scoring.model import Model
from friction.scoring.policy import DEFAULT_FIT, PolicyFit
from friction.scoring.registry import champion_version, load_model, load_policy

log = logging.getLogger(__name__)


class ModelSlot:
    """Holds the model being served and the policy fitted with it; a swap replaces both
    between two awaits, so every request sees a matching pair.

    ``shadow`` is the challenger scored beside it and logged, never acted on.
    """

    def __init__(
        self, model: Model, shadow: Model | None = None, policy: PolicyFit = DEFAULT_FIT
    ) -> None:
        self.model = model
        self.shadow = shadow
        self.policy = policy


async def swap_if_promoted(slot: ModelSlot, models_dir: Path) -> bool:
    """Load and serve the champion if it changed; True if a swap happened."""
    version = champion_version(models_dir)
    if version is None or version == slot.model.version:
        return False
    try:
        model = await asyncio.to_thread(load_model, models_dir, version)
        policy = await asyncio.to_thread(load_policy, models_dir, version)
    except FrictionError as error:
        log.error("champion %s not served, keeping %s: %s", version, slot.model.version, error)
        return False
    previous = slot.model.version
    slot.model, slot.policy = model, policy  # no await between: requests see a matching pair
    log.info("now serving model %s (was %s)", model.version, previous)
    return True


async def watch_champion(slot: ModelSlot, models_dir: Path, every_seconds: float) -> None:
    """Check the registry's champion pointer forever."""
    while True:
        checkpoint()  # a library may have swallowed our cancellation
        await asyncio.sleep(every_seconds)
        try:
            await swap_if_promoted(slot, models_dir)
        except OSError as error:  # registry briefly unreadable (e.g. a volume remount)
            log.warning("model registry unreadable: %s", error)
