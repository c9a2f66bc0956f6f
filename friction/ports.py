"""Ports: the small interfaces between friction's core and the outside world.

Each has an embedded adapter (no servers needed) and a production adapter
(Redis, Kafka, Twilio). Every adapter of a port passes the same contract tests
in ``tests/contract``. Only ``friction.app`` chooses and builds adapters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from friction.domain.erasure import Erased
from friction.domain.events import EncodedEvent
from friction.domain.facts import PaymentFacts
from friction.domain.records import (
    AnyEvent,
    Change,
    CustomerSession,
    DialogueRecord,
    Observation,
    OutboxEntry,
    PaymentRecord,
    Preferences,
    Quota,
    ReviewRecord,
    ReviewStatus,
)

CLAIM_TTL_S = 10
"""How long a payment stays claimed by a request that died before storing its decision: far
longer than a decision takes (the admission limit sheds load long before), short enough that
a gateway's retries after a crash get through soon (409 ``in_progress`` until then)."""


class FeatureStore(Protocol):
    async def observe(
        self, facts: PaymentFacts, budget_window_s: float, payment_id: str
    ) -> Observation | PaymentRecord | None:
        """Features of a payment against the state before it, recording it: one round trip.

        If ``payment_id`` was decided already, its stored record instead (a retry); ``None``
        when a twin request (on any replica sharing the store) has claimed it and not yet
        stored its decision. In both cases nothing is recorded.
        """
        ...


class RecordStore(Protocol):
    async def get_payment(self, payment_id: str) -> PaymentRecord | None: ...

    async def get_dialogue(self, dialogue_id: str) -> DialogueRecord | None: ...

    async def open_dialogues(self) -> list[DialogueRecord]:
        """Dialogues not yet in a terminal state (for the expiry timers)."""
        ...

    async def open_dialogues_of(self, customer_id: str) -> list[DialogueRecord]:
        """One customer's open dialogues, from an index: O(theirs), not O(all open)."""
        ...

    async def open_dialogues_for_phone(self, phone: str) -> list[DialogueRecord]:
        """Open dialogues texted to ``phone``, of any tenant (an SMS reply names no tenant)."""
        ...

    async def get_preferences(self, customer_id: str) -> Preferences | None: ...

    async def get_mark(self, kind: str, key: str, now_ts: float) -> bool:
        """Whether a mark of ``kind``/``key`` is set and not yet expired."""
        ...

    async def read_mark(self, kind: str, key: str, now_ts: float) -> str | None:
        """The ``value`` of a live mark (``''`` if it has none); None if unset or expired."""
        ...

    async def preferences_and_marks(
        self, customer_id: str, marks: Sequence[tuple[str, str]], now_ts: float
    ) -> tuple[Preferences | None, list[bool]]:
        """A customer's preferences and whether each (kind, key) mark is live: one read,
        because scoring needs all of them for every payment."""
        ...


class ReviewStore(Protocol):
    """The analysts' queue; items are written through ``UnitOfWork.commit`` (``Change.review``)."""

    async def get_review(self, review_id: str) -> ReviewRecord | None: ...

    async def list_reviews(
        self,
        tenant: str,
        status: ReviewStatus | None,
        assignee: str | None,
        limit: int,
        after: str | None,
    ) -> tuple[list[ReviewRecord], str | None]:
        """One tenant's items oldest first, after the opaque cursor ``after``; with the next
        cursor or None. Raises InvalidInput (field ``after``) for a cursor it did not hand out.
        """
        ...


class SessionStore(Protocol):
    """Customer sessions, keyed by a digest of their token, shared by every replica."""

    async def save_session(self, digest: str, session: CustomerSession) -> None:
        """Keep ``session`` until it expires."""
        ...

    async def get_session(self, digest: str) -> CustomerSession | None:
        """The session whose token has this digest; None if unknown or expired."""
        ...


class UnitOfWork(Protocol):
    async def commit(self, change: Change) -> None:
        """Apply records, budget, label effects and outbox events all-or-nothing."""
        ...


class Outbox(Protocol):
    async def pending(self, limit: int) -> list[OutboxEntry]:
        """The oldest events to publish, or none while another relay holds the outbox."""
        ...

    async def ack(self, seqs: Sequence[int]) -> None: ...


class Retention(Protocol):
    """Erasure on request and deletion past retention (GDPR Art. 17 and 5(1)(e))."""

    async def erase_customer(self, customer_id: str, pseudonym: str) -> Erased:
        """Delete the customer's personal data; what must stay is put under ``pseudonym``."""
        ...

    async def sweep(self, now_ts: float) -> int:
        """Delete what is past its retention; returns how many (TTL-based stores: 0)."""
        ...


class Quotas(Protocol):
    async def take_quotas(self, quotas: Sequence[Quota], now_ts: float) -> str | None:
        """Record every quota's amount if none would pass its limit; else record nothing and
        return the name of the first that would. Shared by all replicas on the store."""
        ...


class Store(
    FeatureStore,
    RecordStore,
    ReviewStore,
    SessionStore,
    UnitOfWork,
    Outbox,
    Retention,
    Quotas,
    Protocol,
):
    """Everything the service keeps; one adapter implements all of it."""

    async def close(self) -> None: ...


class Records(RecordStore, UnitOfWork, Protocol):
    """What the dialogue side and the spill journal use: read records, commit changes."""


class DecisionStore(FeatureStore, Records, Protocol):
    """What scoring a payment uses: its features, the records it reads, one commit."""


class ReviewQueue(ReviewStore, Records, Protocol):
    """What the review desk uses: the queue, the payments and dialogues behind it, commits."""


class ErasureStore(Retention, UnitOfWork, Protocol):
    """What erasing a customer uses: the erasure itself, and a commit for its audit event."""


class EventBus(Protocol):
    async def publish(self, events: Sequence[AnyEvent]) -> None:
        """Deliver events (at least once); consumers de-duplicate on ``event_id``."""
        ...

    async def publish_encoded(self, events: Sequence[EncodedEvent]) -> None:
        """``publish`` for events already encoded (the outbox's): their bytes go out as they are."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A prompt to deliver to one customer on one channel."""

    dialogue_id: str
    customer_id: str
    phone: str | None
    locale: str
    text: str


class Channel(Protocol):
    """A way to ask a customer: console, in-app, SMS. Opened by the composition root, closed
    at shutdown (``close``); every adapter passes ``tests/contract/test_channel_contract.py``."""

    name: str

    async def send(self, message: OutboundMessage) -> str:
        """Deliver the prompt; returns the channel's message id. Raises ChannelError."""
        ...

    async def close(self) -> None:
        """Release what the channel holds (connections); it sends nothing afterwards."""
        ...
