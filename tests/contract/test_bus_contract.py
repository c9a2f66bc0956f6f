"""One contract for every ``EventBus`` adapter: the local file log and Kafka.

Each adapter is paired with a reader that gives back what a consumer sees on a
topic: (key, raw JSON) pairs. The broker is shared by the session, so every
test uses its own customer ids and reads back only those.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from friction.domain.events import (
    DecisionEvent,
    DialogueEvent,
    EncodedEvent,
    LabelEvent,
    Topic,
    encode,
    topic_of,
)
from friction.domain.records import AnyEvent
from friction.events.file_bus import FileBus
from friction.events.kafka_bus import KafkaBus, bootstrap_of, consume
from friction.ports import EventBus

AT = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
# Fast group membership for tests; Tansu holds a rejoin until the old member's session expires.
FAST_GROUP = {"session_timeout_ms": 1500, "heartbeat_interval_ms": 300}

Reader = Callable[[Topic, set[str], int], Awaitable[list[tuple[str, bytes]]]]


@dataclass
class BusUnderTest:
    bus: EventBus
    read: Reader  # (topic, customer ids, how many) -> [(key, raw value)] in topic order


@pytest.fixture(params=["file", pytest.param("kafka", marks=pytest.mark.kafka)])
async def adapter(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BusUnderTest]:
    if request.param == "file":
        under = BusUnderTest(FileBus(tmp_path / "events"), file_reader(tmp_path / "events"))
    else:
        bootstrap = request.getfixturevalue("kafka_bootstrap")
        # Tansu 0.6 cannot do InitProducerId v0, the only version aiokafka sends (see docs).
        under = BusUnderTest(KafkaBus(bootstrap, idempotent=False), kafka_reader(bootstrap))
    yield under
    await under.bus.close()


def file_reader(directory: Path) -> Reader:
    async def read(topic: Topic, customers: set[str], n: int) -> list[tuple[str, bytes]]:
        lines = (directory / f"{topic}.jsonl").read_bytes().splitlines()
        rows = [(orjson.loads(line)["customer_id"], line) for line in lines if line]
        return [(key, raw) for key, raw in rows if key in customers]

    return read


def kafka_reader(bootstrap: str) -> Reader:
    async def read(topic: Topic, customers: set[str], n: int) -> list[tuple[str, bytes]]:
        # No group: all partitions from the start, without the wait of a group join.
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
        )
        await consumer.start()
        rows: list[tuple[str, bytes]] = []
        try:
            async with asyncio.timeout(20):
                while len(rows) < n:
                    message = await consumer.getone()
                    key = (message.key or b"").decode()
                    if key in customers:
                        rows.append((key, message.value or b""))
        finally:
            await consumer.stop()
        return rows

    return read


def events_for(customers: list[str], n: int) -> list[AnyEvent]:
    """``n`` events of all three types, round-robin over customers."""
    out: list[AnyEvent] = []
    for i in range(n):
        customer, payment = customers[i % len(customers)], f"pay_{uuid.uuid4().hex[:10]}"
        common = {"at": AT, "customer_id": customer, "payment_id": payment}
        if i % 3 == 0:
            out.append(
                DecisionEvent(
                    event_id=f"decision:{payment}", occurred_at=AT, decision="allow", score=0.1,
                    model_version="m1", reasons=[], features={"amount": float(i)},
                    amount_minor=100 * i, currency="EUR", merchant_id="mer_1",
                    terminal_id="ter_1", channel="ecom", **common,
                )
            )  # fmt: skip
        elif i % 3 == 1:
            out.append(
                DialogueEvent(
                    event_id=f"dialogue:{payment}:sent", dialogue_id=f"dlg_{i}", state="sent",
                    channel="sms", locale="fr", **common,
                )
            )  # fmt: skip
        else:
            out.append(
                LabelEvent(
                    event_id=f"label:{payment}:analyst", label="fraud", source="analyst",
                    delay_seconds=86400.0, merchant_id="mer_1", terminal_id="ter_1",
                    occurred_at=AT, **common,
                )
            )  # fmt: skip
    return out


def customers_of_run(k: int = 3) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"cus_{run}_{j}" for j in range(k)]


async def test_published_events_come_back_on_their_topics_keyed_by_customer(
    adapter: BusUnderTest,
) -> None:
    customers = customers_of_run()
    events = events_for(customers, 30)
    await adapter.bus.publish(events[:12])
    await adapter.bus.publish(events[12:])
    for topic in ("decisions", "dialogues", "labels"):
        sent = [e for e in events if topic_of(e) == topic]
        got = await adapter.read(topic, set(customers), len(sent))
        for customer in customers:  # order is kept per key (partition), not across keys
            mine = [e for e in sent if e.customer_id == customer]
            raws = [raw for key, raw in got if key == customer]
            assert [type(e).model_validate_json(r) for e, r in zip(mine, raws, strict=True)] == mine
        for _, raw in got:
            body = orjson.loads(raw)
            assert body["schema"] == f"{body['type']}/v1"


async def test_republished_events_deduplicate_on_event_id(adapter: BusUnderTest) -> None:
    customers = customers_of_run(1)
    events = events_for(customers, 6)
    await adapter.bus.publish(events)
    # a relay that crashed before its ack publishes again, from the outbox's bytes
    await adapter.bus.publish_encoded([EncodedEvent.of(e) for e in events[3:]])
    await adapter.bus.publish([])
    for topic in ("decisions", "dialogues", "labels"):
        sent = [e for e in events if topic_of(e) == topic]
        got = await adapter.read(topic, set(customers), len(sent))
        ids = [orjson.loads(raw)["event_id"] for _, raw in got]
        assert sorted(set(ids)) == sorted(e.event_id for e in sent)


async def test_encoded_events_go_out_byte_for_byte(adapter: BusUnderTest) -> None:
    """``publish_encoded`` writes the stored bytes as they are, routed like ``publish``."""
    customers = customers_of_run(1)  # one key: order is kept across both calls
    events = events_for(customers, 9)
    await adapter.bus.publish_encoded([EncodedEvent.of(e) for e in events[:5]])
    await adapter.bus.publish_encoded([])
    await adapter.bus.publish(events[5:])
    for topic in ("decisions", "dialogues", "labels"):
        sent = [e for e in events if topic_of(e) == topic]
        got = await adapter.read(topic, set(customers), len(sent))
        assert got == [(e.customer_id, encode(e)) for e in sent]


# --- Kafka only ----------------------------------------------------------------------


@pytest.mark.kafka
async def test_kafka_headers_carry_schema_and_event_id(kafka_bootstrap: str) -> None:
    """Routers read the schema and event id from headers, without parsing the body."""
    customer = customers_of_run(1)[0]
    (event,) = (e for e in events_for([customer], 3) if topic_of(e) == "dialogues")
    bus = KafkaBus(kafka_bootstrap, idempotent=False)
    try:
        await bus.publish_encoded([EncodedEvent.of(event)])
    finally:
        await bus.close()
    consumer = AIOKafkaConsumer(
        "dialogues", bootstrap_servers=kafka_bootstrap, group_id=None,
        auto_offset_reset="earliest",
    )  # fmt: skip
    await consumer.start()
    try:
        async with asyncio.timeout(20):
            while (message := await consumer.getone()).key != customer.encode():
                pass
    finally:
        await consumer.stop()
    assert message.value == encode(event)
    assert dict(message.headers) == {"schema": b"dialogue/v1", "event_id": event.event_id.encode()}


@pytest.mark.kafka
async def test_consumer_group_resumes_after_its_committed_offset(kafka_bootstrap: str) -> None:
    customers = customers_of_run(2)
    events = [e for e in events_for(customers, 12) if topic_of(e) == "labels"]
    bus = KafkaBus(bootstrap_of(f"kafka://{kafka_bootstrap}"), idempotent=False)
    try:
        await bus.publish(events)
    finally:
        await bus.close()
    group, mine = f"sink-{uuid.uuid4().hex[:8]}", {e.event_id for e in events}

    async def take(done: Callable[[list[str]], bool]) -> list[str]:
        got: list[str] = []
        stream = consume(kafka_bootstrap, ["labels"], group, **FAST_GROUP)
        async with contextlib.aclosing(stream) as labels, asyncio.timeout(25):
            async for event in labels:
                if event.event_id in mine:
                    got.append(event.event_id)
                if done(got):
                    break
        return got

    first = await take(lambda got: len(got) == 3)
    rest = await take(lambda got: set(first) | set(got) == mine)
    # At least once: the event in hand when the first member left (it may not have been
    # handled) comes again; the ones it had moved past were committed and do not.
    assert set(rest) & set(first) <= {first[-1]}
    assert len(rest) == len(set(rest))


@pytest.mark.kafka
async def test_bus_publish_fails_while_broker_is_down_and_works_after(tmp_path: Path) -> None:
    # its own broker: Tansu forgets topics on restart, which would silently swallow
    # the events of every later test sharing the session broker
    from tests.servers import tansu_process

    broker = tansu_process(tmp_path)
    broker.start()
    bus = KafkaBus(f"127.0.0.1:{broker.port}", idempotent=False)
    events = events_for(customers_of_run(1), 1)
    try:
        broker.stop()
        with pytest.raises(Exception):  # noqa: B017, PT011 - any failure: the outbox keeps it
            async with asyncio.timeout(5):
                await bus.publish(events)
        broker.start()
        async with asyncio.timeout(20):
            await bus.publish(events)
    finally:
        await bus.close()
        broker.stop()
