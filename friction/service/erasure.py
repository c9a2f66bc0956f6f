"""Erasure on request and retention: what ``DELETE /v1/customers/{id}`` and the sweep do.

Time bound of an erasure: the store is scrubbed before the request returns
(one SQLite transaction; a SCAN of the Redis keyspace, about a minute at 10 M
keys); no event emitted afterwards carries the customer's id, phone or names
(events are built from the scrubbed records); events already published stay
on the bus until its retention (Kafka topics: 30 days; the file event log is a
development tool: rotate it), and the ``erasure`` event on topic ``audit``
tells every consumer to erase its copies. Logs never hold customer ids or full
phone numbers (masked), so they need no erasure.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from friction.aio import checkpoint
from friction.dialogue.engine import DialogueEngine
from friction.domain.erasure import pseudonym_of
from friction.domain.events import ErasureEvent
from friction.domain.records import Change
from friction.ports import ErasureStore, Retention
from friction.settings import DialogueSettings

log = logging.getLogger(__name__)


async def erase_customer(
    settings: DialogueSettings,
    store: ErasureStore,
    engine: DialogueEngine,
    customer_id: str,
    on_commit: Callable[[], None],
) -> ErasureEvent:
    """Scrub the store of ``customer_id`` and record the ``erasure`` audit event."""
    secret = settings.pseudonym_secret.get_secret_value().encode()
    pseudonym = pseudonym_of(secret, customer_id)
    async with engine.lock:  # no dialogue transition writes an unscrubbed copy back meanwhile
        erased = await store.erase_customer(customer_id, pseudonym)
        now = datetime.now(UTC)
        event = ErasureEvent(
            event_id=f"erasure:{pseudonym}:{now.timestamp():.6f}",
            at=now,
            customer_id=pseudonym,
            payment_id="",
            payments=erased.payments,
            dialogues=erased.dialogues,
            reviews=erased.reviews,
            deleted=erased.deleted,
        )
        await store.commit(Change(events=[event]))
    on_commit()
    log.info("erased customer %s: %s", pseudonym, erased)
    return event


async def sweep_forever(store: Retention, interval_s: float) -> None:
    """Delete what is past retention every ``interval_s`` (a no-op on TTL-based stores)."""
    while True:
        checkpoint()  # a library may have swallowed our cancellation
        await asyncio.sleep(interval_s)
        try:
            deleted = await store.sweep(time.time())
        except Exception:
            log.exception("retention sweep failed; retrying next round")
            continue
        if deleted:
            log.info("retention sweep deleted %d records", deleted)
