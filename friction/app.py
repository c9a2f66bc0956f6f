"""Composition root: the only place that chooses and builds adapters.

``build_app(settings)`` returns the aiohttp application; its cleanup context
opens the store, bus, channels and model at start-up, starts the background
tasks (outbox relay, dialogue timers) and closes everything at shutdown.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from aiohttp import web

from friction.api.auth import auth_middleware
from friction.api.keys import (
    ENGINE,
    FLOWS,
    METRICS,
    OPENAPI,
    PROMPTS,
    RELAY,
    REPLIES,
    REVIEWS,
    RULES,
    SCORER,
    SETTINGS,
    STORE,
)
from friction.api.middleware import (
    admission_middleware,
    body_middleware,
    card_data_middleware,
    client_limit_middleware,
    errors_middleware,
    metrics_middleware,
)
from friction.api.openapi import build_openapi
from friction.api.sse import setup_streams
from friction.dialogue.app_prompts import AppPrompts
from friction.dialogue.channels.console import ConsoleChannel
from friction.dialogue.channels.in_app import InAppChannel
from friction.dialogue.channels.sms import TwilioSmsChannel
from friction.dialogue.channels.sms_guard import SmsGuard, SmsLimits
from friction.dialogue.engine import DialogueEngine
from friction.dialogue.flows import load_flows
from friction.dialogue.hub import Hub
from friction.dialogue.reach import Reach
from friction.dialogue.sms_replies import SmsReplies
from friction.dialogue.wiring import EngineWiring
from friction.domain.payment import Payment
from friction.domain.tenancy import DEFAULT_TENANT
from friction.events.file_bus import FileBus
from friction.events.kafka_bus import KafkaBus
from friction.events.outbox import OutboxRelay
from friction.events.webhooks import VerdictWebhooks, check_callback_url
from friction.metrics import Metrics
from friction.ports import Channel, EventBus, Quotas, Store
from friction.review.desk import ReviewDesk
from friction.review.intake import decision_hook, ending_hook
from friction.routes import add_routes, served
from friction.rules.expressions import Vocabulary
from friction.rules.store import RulesStore
from friction.scoring.registry import load_model, load_policy
from friction.scoring.shadow import load_shadow
from friction.service.erasure import sweep_forever
from friction.service.model_slot import ModelSlot, watch_champion
from friction.service.rule_sets import RuleSets
from friction.service.scorer import Scorer, ScorerWiring
from friction.service.spill import SpillJournal
from friction.settings import CallbackTarget, Settings
from friction.storage.embedded import EmbeddedStore
from friction.storage.redis_pool import PoolWatch
from friction.storage.redis_rules import RedisRules
from friction.storage.redis_store import RedisStore
from friction.storage.sqlite_rules import SqliteRules

log = logging.getLogger(__name__)


SPILL_REPLAY_SECONDS = 1.0
"""How often the spill journal is replayed into the store (and how old its unsynced tail
may be)."""


def build_app(settings: Settings) -> web.Application:
    """The service, wired for ``settings``; nothing is opened until it starts."""
    metrics = Metrics()
    routes = served(settings.dev_endpoints)
    keyed = {(r.method, r.path) for r in routes if r.auth == "api_key"}  # per tenant instead
    app = web.Application(
        middlewares=[
            client_limit_middleware(
                settings.max_inflight_per_client,
                keyed,
                settings.overload_retry_after_seconds,
                metrics,
            ),
            body_middleware(settings.body_timeout_seconds, metrics),
            admission_middleware(
                settings.max_inflight, settings.overload_retry_after_seconds, metrics
            ),
            metrics_middleware(metrics),
            errors_middleware(),
            card_data_middleware(),
            auth_middleware(settings, {(r.method, r.path): r.auth for r in routes}),
        ],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[OPENAPI] = build_openapi(routes)
    add_routes(app, routes)
    setup_streams(app)
    app.cleanup_ctx.append(_resources)
    return app


def open_store(settings: Settings, metrics: Metrics | None = None) -> Store:
    """The store adapter named by ``settings.store`` (Redis pool waits counted in ``metrics``)."""
    if settings.store == "embedded":
        return EmbeddedStore(settings.store_path, settings.embedded_working_set)
    if settings.store.startswith(("redis://", "rediss://", "unix://")):
        watch = None
        if metrics is not None:
            watch = PoolWatch(metrics.store_pool_waits.inc, metrics.store_pool_timeouts.inc)
        return RedisStore.from_url(
            settings.store, timeout_s=settings.store_timeout_seconds,
            max_inflight=settings.max_inflight, watch=watch,
        )  # fmt: skip
    raise ValueError(f"unknown FRICTION_STORE {settings.store!r}; use 'embedded' or redis://…")


def open_rules(settings: Settings) -> RulesStore:
    """Where analysts' rules and lists are kept: beside the decisions, in the same store."""
    if settings.store == "embedded":
        return SqliteRules(settings.store_path)
    return RedisRules.from_url(settings.store)


def tenants_of(settings: Settings) -> list[str]:
    """The tenants this service answers: one per API key, or the single default tenant."""
    return sorted(settings.api_keys) or [DEFAULT_TENANT]


def open_bus(settings: Settings) -> EventBus:
    """The event-bus adapter named by ``settings.bus``."""
    if settings.bus == "file":
        return FileBus(settings.event_log_dir)
    if settings.bus.startswith("kafka://"):
        return KafkaBus.from_url(settings.bus, idempotent=settings.kafka_idempotent)
    raise ValueError(f"unknown FRICTION_BUS {settings.bus!r}; use 'file' or kafka://…")


def open_channels(
    settings: Settings, hub: Hub, metrics: Metrics, quotas: Quotas
) -> dict[str, Channel]:
    """Message channels available to the dialogue ladder (SMS when Twilio is configured).

    SMS always goes through the abuse guard: every text costs money (SMS pumping).
    """
    channels: dict[str, Channel] = {"console": ConsoleChannel(), "in_app": InAppChannel(hub)}
    if settings.twilio_enabled:
        twilio = TwilioSmsChannel(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            settings.twilio_from_number,
            api_base=settings.twilio_api_base,
            status_callback_url=settings.public_url.rstrip("/") + "/webhooks/twilio/status",
            timeout_s=settings.twilio_timeout_seconds,
        )
        channels["sms"] = SmsGuard(twilio, SmsLimits.from_settings(settings), metrics, quotas)
    return channels


def open_webhooks(settings: Settings) -> VerdictWebhooks | None:
    """Verdict webhooks to each tenant's gateway that configured a callback URL."""
    targets = dict(settings.gateway_callbacks)
    if settings.gateway_callback_url:
        targets.setdefault(
            DEFAULT_TENANT,
            CallbackTarget(
                url=settings.gateway_callback_url, secret=settings.gateway_callback_secret
            ),
        )
    if not targets:
        return None
    for target in targets.values():
        check_callback_url(target.url, settings.webhook_allow_loopback)
    return VerdictWebhooks(
        {t: (c.url, c.secret.get_secret_value().encode()) for t, c in targets.items()},
        settings.webhook_allow_loopback,
    )


def _finished(tasks: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    """Forget a background task when it ends, logging it if it failed."""

    def done(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("background task %s failed", task.get_coro(), exc_info=error)

    return done


async def _last_replay(spill: SpillJournal, store: Store) -> None:
    """At shutdown, commit what the store will take now; the rest waits for the next start."""
    try:
        async with asyncio.timeout(SPILL_REPLAY_SECONDS * 5):
            await spill.replay(store, lambda spilled: None)  # prompts: sent at the next start
    except TimeoutError:
        log.warning("spill journal not fully replayed at shutdown; the next start will")
    spill.close()


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    slot = ModelSlot(
        load_model(settings.models_dir),
        load_shadow(settings.models_dir, settings.shadow_model),
        load_policy(settings.models_dir),
    )
    store = open_store(settings, app[METRICS])
    if isinstance(store, RedisStore):
        await store.warm()  # opened now, not by the first burst of requests
    bus = open_bus(settings)
    relay = OutboxRelay(store, bus)
    tasks: set[asyncio.Task[None]] = set()

    def spawn(coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(_finished(tasks))

    hub = Hub()
    channels = open_channels(settings, hub, app[METRICS], store)
    webhooks = open_webhooks(settings)
    wiring = EngineWiring(app[METRICS], relay.wake, spawn, hub, webhooks, ending_hook(settings))
    flows = load_flows()
    engine = DialogueEngine(settings, store, channels, flows, wiring)
    reach = Reach(settings, store, channels)
    app[REVIEWS] = ReviewDesk(store, wiring, flows)
    app[REPLIES] = SmsReplies(engine, store, reach, app[REVIEWS].contest)
    app[PROMPTS] = AppPrompts(engine, store, settings.token_secret.get_secret_value().encode())
    app[STORE] = store
    app[RELAY] = relay
    app[ENGINE] = engine
    spill = SpillJournal(settings.data_dir / "spill")
    app[METRICS].spill_pending.set_function(lambda: spill.pending)
    rules = RuleSets(open_rules(settings), Vocabulary(Payment.model_json_schema()),
                     tenants_of(settings))  # fmt: skip
    await rules.load()  # rules apply from the first payment
    app[RULES] = rules
    app[FLOWS] = sorted(flows)
    hooks = ScorerWiring(app[METRICS], relay.wake, spawn, decision_hook(settings), rules.get)
    scorer = Scorer(settings, store, slot, engine, reach, spill, hooks)
    app[SCORER] = scorer
    spawn(relay.run())
    spawn(engine.run_timers())
    spawn(sweep_forever(store, settings.retention_sweep_seconds))
    spawn(watch_champion(slot, settings.models_dir, settings.model_check_seconds))
    spawn(spill.run(store, SPILL_REPLAY_SECONDS, scorer.forget_degraded))
    spawn(rules.run(settings.rules_refresh_seconds))
    if webhooks is not None:
        spawn(webhooks.run())
    for dialogue in await store.open_dialogues():
        if dialogue.state == "created":  # committed but not sent before a restart
            spawn(engine.deliver(dialogue))
    if not settings.api_keys:
        log.warning(
            "no FRICTION_API_KEYS: every route is open, customers' included (development only)"
        )
    log.info(
        "friction ready: model %s, store %s, bus %s",
        slot.model.version,
        settings.store,
        settings.bus,
    )
    # What start-up made (model, tables, pools) lives as long as the process: kept out of
    # the collector's sight, full collections under connection churn stop taking 40-100 ms
    # (a tenant beside a slowloris: p99 16-42x its unloaded value before, 2.0-4.4x after;
    # loadtest/faults.py --only slowloris).
    gc.freeze()
    yield
    for task in list(tasks):
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await _last_replay(spill, store)
    # Bounded, so a stop always ends within a grace period: what is not published now stays
    # in the outbox (it is durable) and goes out after the next start.
    await _bounded(relay.drain(), "publishing the outbox")
    for channel in channels.values():
        await _bounded(channel.close(), f"closing the {channel.name} channel")
    await _bounded(bus.close(), "closing the event bus")
    await _bounded(rules.store.close(), "closing the rules store")
    await store.close()


SHUTDOWN_STEP_SECONDS = 5.0


async def _bounded(step: Coroutine[Any, Any, object], what: str) -> None:
    """One shutdown step, given up (with a warning) after ``SHUTDOWN_STEP_SECONDS``."""
    try:
        async with asyncio.timeout(SHUTDOWN_STEP_SECONDS):
            await step
    except TimeoutError:
        log.warning(
            "shutdown: %s took over %.0f s; left for the next start", what, SHUTDOWN_STEP_SECONDS
        )
    except Exception as error:  # the process is stopping: log and go on
        log.warning("shutdown: %s failed: %s", what, type(error).__name__)
