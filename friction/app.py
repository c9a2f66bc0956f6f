"""Composition root: the only place that chooses and builds adapters.

``build_app(settings)`` returns the aiohttp application; its cleanup context
opens the store, bus, channels and model at start-up, starts the background
tasks (outbox relay, dialogue timers) and closes everything at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from aiohttp import web

from friction.api.middleware import errors_middleware, metrics_middleware
from friction.api.openapi import build_openapi
from friction.dialogue.channels.console import ConsoleChannel
from friction.dialogue.engine import DialogueEngine
from friction.events.file_bus import FileBus
from friction.events.outbox import OutboxRelay
from friction.keys import ENGINE, METRICS, OPENAPI, RELAY, SCORER, SETTINGS, STORE
from friction.metrics import Metrics
from friction.ports import Channel, EventBus, Store
from friction.routes import add_routes
from friction.scoring.service import ModelSlot, Scorer
from friction.settings import Settings
from friction.storage.embedded import EmbeddedStore
from friction.training.registry import load_model

log = logging.getLogger(__name__)


def build_app(settings: Settings) -> web.Application:
    """The service, wired for ``settings``; nothing is opened until it starts."""
    metrics = Metrics()
    app = web.Application(
        middlewares=[metrics_middleware(metrics), errors_middleware()],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[OPENAPI] = build_openapi()
    add_routes(app)
    app.cleanup_ctx.append(_resources)
    return app


def open_store(settings: Settings) -> Store:
    """The store adapter named by ``settings.store``."""
    if settings.store == "embedded":
        return EmbeddedStore(settings.store_path)
    raise ValueError(f"unknown FRICTION_STORE {settings.store!r}; use 'embedded'")


def open_bus(settings: Settings) -> EventBus:
    """The event-bus adapter named by ``settings.bus``."""
    if settings.bus == "file":
        return FileBus(settings.event_log_dir)
    raise ValueError(f"unknown FRICTION_BUS {settings.bus!r}; use 'file'")


def open_channels(settings: Settings) -> dict[str, Channel]:
    """Message channels available to the dialogue ladder."""
    return {"console": ConsoleChannel()}


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    slot = ModelSlot(load_model(settings.models_dir))
    store = open_store(settings)
    bus = open_bus(settings)
    relay = OutboxRelay(store, bus)
    tasks: set[asyncio.Task[None]] = set()

    def spawn(coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    engine = DialogueEngine(settings, store, open_channels(settings), app[METRICS], relay.wake)
    app[STORE] = store
    app[RELAY] = relay
    app[ENGINE] = engine
    app[SCORER] = Scorer(settings, store, slot, engine, app[METRICS], relay.wake, spawn)
    spawn(relay.run())
    spawn(engine.run_timers())
    for dialogue in await store.open_dialogues():
        if dialogue.state == "created":  # committed but not sent before a restart
            spawn(engine.deliver(dialogue))
    log.info(
        "friction ready: model %s, store %s, bus %s",
        slot.model.version,
        settings.store,
        settings.bus,
    )
    yield
    for task in list(tasks):
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await relay.drain()
    await bus.close()
    await store.close()
