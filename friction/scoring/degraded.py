"""Degraded mode: decide without the store, and lose no decision.

When the store cannot be reached in time, ``POST /v1/score`` still answers within
the budget: features from the request alone (as for a customer never seen
before), the rule configured for the payment channel, the decision tagged
``degraded``. No dialogue is opened (its state could not be kept). The
decision and its event go to a local spill journal and are committed to the
store as soon as it answers again, so after the outage the ledger still holds:
responses given = decisions stored = decision events published.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import orjson

from friction.aio import checkpoint
from friction.api.schemas import Decision, Reason
from friction.errors import StoreUnavailable
from friction.events.schemas import DecisionEvent
from friction.ports import Store
from friction.records import Change, PaymentRecord
from friction.scoring.features import CustomerState, EntityState, PaymentFacts, Snapshot, compute
from friction.settings import Settings

log = logging.getLogger(__name__)
DegradedRule = Literal["score", "fail_open", "fail_closed"]

STORE_DOWN = Reason(
    code="DEGRADED_NO_HISTORY",
    text="Customer history was unavailable; decided on this payment alone.",
)


def request_only_features(facts: PaymentFacts) -> list[float]:
    """The feature vector of a payment scored against an empty history."""
    return compute(facts, Snapshot(CustomerState(), EntityState(), EntityState()))


def degraded_decision(settings: Settings, channel: str, score: float) -> Decision:
    """The configured fail-open/closed rule for this payment channel."""
    rule = settings.degraded_rules.get(channel, settings.degraded_rule)
    if rule == "fail_open":
        return "allow"
    if rule == "fail_closed":
        return "decline"
    if score >= settings.decline_at:
        return "decline"
    return "review" if score >= settings.challenge_at else "allow"


class SpillJournal:
    """Decisions taken while the store was down, in order, until the store takes them."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._lock = asyncio.Lock()

    def append(self, record: PaymentRecord, event: DecisionEvent) -> None:
        """Write one decision durably enough to survive the process (flushed to the OS)."""
        line = orjson.dumps(
            {"record": record.model_dump(mode="json"), "event": event.model_dump(mode="json")}
        )
        with self._path.open("ab") as handle:
            handle.write(line + b"\n")

    def __len__(self) -> int:
        if not self._path.exists():
            return 0
        with self._path.open("rb") as handle:
            return sum(1 for line in handle if line.strip())

    async def replay(self, store: Store) -> int:
        """Commit spilled decisions the store does not have yet; empty the journal if all went."""
        async with self._lock:
            if not self._path.exists():
                return 0
            lines = [line for line in self._path.read_bytes().splitlines() if line.strip()]
            done = 0
            try:
                for line in lines:
                    data = orjson.loads(line)
                    record = PaymentRecord.model_validate(data["record"])
                    event = DecisionEvent.model_validate(data["event"])
                    if await store.get_payment(record.key) is None:
                        await store.commit(Change(payment=record, events=[event]))
                    done += 1
            except StoreUnavailable:
                self._keep(lines[done:])
                return done
            self._path.unlink()
            return done

    def _keep(self, lines: list[bytes]) -> None:
        self._path.write_bytes(b"".join(line + b"\n" for line in lines))

    async def run(self, store: Store, every_seconds: float, on_empty: Callable[[], None]) -> None:
        """Replay forever; ``on_empty`` once everything spilled is in the store."""
        while True:
            checkpoint()  # a library may have swallowed our cancellation
            await asyncio.sleep(every_seconds)
            replayed = await self.replay(store)
            if replayed:
                log.info("store is back: %d degraded decisions committed", replayed)
                if not self._path.exists():
                    on_empty()
