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
from friction.api.sse import setup_streams
from friction.dialogue.channels.console import ConsoleChannel
from friction.dialogue.channels.in_app import InAppChannel
from friction.dialogue.channels.sms import TwilioSmsChannel
from friction.dialogue.engine import DialogueEngine
from friction.dialogue.flows import load_flows
from friction.dialogue.hub import Hub
from friction.dialogue.wiring import EngineWiring
from friction.events.file_bus import FileBus
from friction.events.kafka_bus import KafkaBus
from friction.events.outbox import OutboxRelay
from friction.events.webhooks import VerdictWebhooks
from friction.keys import ENGINE, METRICS, OPENAPI, RELAY, REVIEWS, SCORER, SETTINGS, STORE
from friction.metrics import Metrics
from friction.ports import Channel, EventBus, Store
from friction.review.desk import ReviewDesk
from friction.routes import add_routes
from friction.scoring.hotswap import watch_champion
from friction.scoring.service import ModelSlot, Scorer
from friction.settings import Settings
from friction.storage.embedded import EmbeddedStore
from friction.storage.redis_store import RedisStore
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
    setup_streams(app)
    app.cleanup_ctx.append(_resources)
    return app


def open_store(settings: Settings) -> Store:
    """The store adapter named by ``settings.store``."""
    if settings.store == "embedded":
        return EmbeddedStore(settings.store_path)
    if settings.store.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore.from_url(settings.store)
    raise ValueError(f"unknown FRICTION_STORE {settings.store!r}; use 'embedded' or redis://…")


def open_bus(settings: Settings) -> EventBus:
    """The event-bus adapter named by ``settings.bus``."""
    if settings.bus == "file":
        return FileBus(settings.event_log_dir)
    if settings.bus.startswith("kafka://"):
        return KafkaBus.from_url(settings.bus, idempotent=settings.kafka_idempotent)
    raise ValueError(f"unknown FRICTION_BUS {settings.bus!r}; use 'file' or kafka://…")


def open_channels(settings: Settings, hub: Hub) -> dict[str, Channel]:
    """Message channels available to the dialogue ladder (SMS when Twilio is configured)."""
    channels: dict[str, Channel] = {"console": ConsoleChannel(), "in_app": InAppChannel(hub)}
    if settings.twilio_enabled:
        channels["sms"] = TwilioSmsChannel(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            settings.twilio_from_number,
            api_base=settings.twilio_api_base,
            status_callback_url=settings.public_url.rstrip("/") + "/webhooks/twilio/status",
            timeout_s=settings.twilio_timeout_seconds,
        )
    return channels


def open_webhooks(settings: Settings) -> VerdictWebhooks | None:
    """Verdict webhooks to the gateway, if a callback URL is configured."""
    if not settings.gateway_callback_url:
        return None
    secret = settings.gateway_callback_secret.get_secret_value().encode()
    return VerdictWebhooks(settings.gateway_callback_url, secret)


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

    hub = Hub()
    channels = open_channels(settings, hub)
    webhooks = open_webhooks(settings)
    wiring = EngineWiring(app[METRICS], relay.wake, spawn, hub, webhooks)
    flows = load_flows()
    engine = DialogueEngine(settings, store, channels, flows, wiring)
    app[REVIEWS] = ReviewDesk(store, wiring, flows)
    wiring.contest = app[REVIEWS].contest
    app[STORE] = store
    app[RELAY] = relay
    app[ENGINE] = engine
    app[SCORER] = Scorer(settings, store, slot, engine, app[METRICS], relay.wake, spawn)
    spawn(relay.run())
    spawn(engine.run_timers())
    spawn(watch_champion(slot, settings.models_dir, settings.model_check_seconds))
    if webhooks is not None:
        spawn(webhooks.run())
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
    for channel in channels.values():
        close = getattr(channel, "close", None)
        if close is not None:
            await close()
    await bus.close()
    await store.close()
