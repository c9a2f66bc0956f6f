"""Kafka event bus: the ``EventBus`` port on aiokafka, and a consumer-group reader.

Topics are ``decisions``, ``dialogues`` and ``labels`` (``topic_of``); the key is
the customer id, so one customer's events stay in order on one partition; the
value is the event's versioned JSON (``schema`` = ``<type>/v<n>``), with the
schema and event id also as headers so routers need not parse the body.

Delivery is at least once end to end: the outbox relay re-publishes after a
crash and ``consume`` commits offsets only after the caller has handled the
events; consumers de-duplicate on ``event_id``. The idempotent producer
(``acks=all``) removes the duplicates a producer retry would otherwise add.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaError
from pydantic import TypeAdapter, ValidationError

from friction.domain.events import EncodedEvent
from friction.domain.records import AnyEvent
from friction.errors import FrictionError

log = logging.getLogger(__name__)
_EVENT: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)
REQUEST_TIMEOUT_S = 30.0
"""How long a produce request waits for the broker's answer before its batch fails and the
outbox relay publishes it again (Kafka's own default; aiokafka's is 40 s). An answer that
never comes (seen with Tansu after a publisher was killed mid-request) stalls the relay this
long, and loses nothing."""


def bootstrap_of(url: str) -> str:
    """``kafka://host:port[,host:port]`` (the settings' form) -> aiokafka's bootstrap string."""
    return url.removeprefix("kafka://").rstrip("/")


class KafkaBus:
    """The ``EventBus`` port on Kafka; the producer starts on first publish."""

    def __init__(
        self, bootstrap: str, *, idempotent: bool = True, client_id: str = "friction"
    ) -> None:
        self._bootstrap = bootstrap
        self._idempotent = idempotent
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None

    @classmethod
    def from_url(cls, url: str, *, idempotent: bool = True) -> KafkaBus:
        return cls(bootstrap_of(url), idempotent=idempotent)

    async def publish(self, events: Sequence[AnyEvent]) -> None:
        await self.publish_encoded([EncodedEvent.of(event) for event in events])

    async def publish_encoded(self, events: Sequence[EncodedEvent]) -> None:
        """Send all events, then wait for every acknowledgement (raises if any failed)."""
        if not events:
            return
        producer = await self._started()
        pending = [
            await producer.send(
                event.topic,
                value=event.raw,
                key=event.customer_id.encode(),
                headers=[("schema", event.schema.encode()), ("event_id", event.event_id.encode())],
            )
            for event in events
        ]
        for delivery in pending:
            await delivery

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def _started(self) -> AIOKafkaProducer:
        """The running producer; a failed start leaves nothing open, so the next call retries."""
        if self._producer is not None:
            return self._producer
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            acks="all",
            enable_idempotence=self._idempotent,
            linger_ms=2,
            request_timeout_ms=int(REQUEST_TIMEOUT_S * 1000),
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer
        return producer


async def consume(
    bootstrap: str,
    topics: Sequence[str],
    group_id: str,
    *,
    session_timeout_ms: int = 10_000,
    heartbeat_interval_ms: int = 3_000,
) -> AsyncIterator[AnyEvent]:
    """Events of ``topics`` for one member of ``group_id``, at least once.

    An offset is committed once the caller asks for the next event (it handled
    this one): per batch, and on close. Close with ``contextlib.aclosing``.
    Undecodable messages are logged and skipped: a poison message must not stall.
    """
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,  # commits follow handling, never a timer
        auto_offset_reset="earliest",
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=heartbeat_interval_ms,
    )
    try:
        await consumer.start()
    except KafkaConnectionError:
        await consumer.stop()
        raise FrictionError(
            f"Kafka is not reachable at {bootstrap}: start it, or set "
            "FRICTION_BUS=file to read the local event log"
        ) from None
    handled: dict[TopicPartition, int] = {}
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=500)
            for partition, messages in batch.items():
                for message in messages:
                    event = _decode(message.value)
                    if event is not None:
                        yield event
                    handled[partition] = message.offset + 1
            if handled:
                await consumer.commit(handled)
                handled = {}
    finally:
        await _leave(consumer, handled)


async def _leave(consumer: AIOKafkaConsumer, handled: dict[TopicPartition, int]) -> None:
    """Commit what the caller handled (best effort), then leave the group."""
    try:
        if handled:
            with contextlib.suppress(KafkaError):
                await consumer.commit(handled)
    finally:
        await consumer.stop()


def _decode(value: bytes | None) -> AnyEvent | None:
    try:
        return _EVENT.validate_json(value or b"")
    except ValidationError:
        log.warning("skipping an undecodable message (%d bytes)", len(value or b""))
        return None
