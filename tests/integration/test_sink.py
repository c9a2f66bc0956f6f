"""The label sink: bus -> partitioned JSON lines -> ``friction train --from-sink``.

Events come from the session's simulated stream (features replayed through the
online feature code, labels from its truth), so the dataset has real shape and
enough fraud to train on. Every test checks the dataset *bytes*: redelivery,
reordering and restarts must not change a single one.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from friction.cli import main
from friction.cli.sink import sink
from friction.domain.events import DecisionEvent, DialogueEvent, LabelEvent
from friction.domain.payment import Payment
from friction.domain.records import AnyEvent
from friction.events.file_bus import FileBus
from friction.events.kafka_bus import KafkaBus
from friction.events.sink import DatasetWriter, SinkRun, partition_files, run_sink
from friction.offline.dataset import Replayer, read_lines
from friction.scoring.features import FEATURE_NAMES
from friction.scoring.registry import champion_version
from friction.settings import Settings
from friction.training.production import Maturity, sink_dataset
from tests.conftest import Client

FAST_GROUP = {"session_timeout_ms": 1500, "heartbeat_interval_ms": 300}
AS_OF = datetime(2026, 12, 31, tzinfo=UTC)


def sim_events(stream: Path, tag: str = "", limit: int | None = None) -> list[AnyEvent]:
    """Decisions for every payment; frauds get no_answer then a chargeback, some genuine a yes."""
    replayer, events = Replayer(), []
    for n, line in enumerate(read_lines(stream)):
        if limit is not None and n >= limit:
            break
        payment = Payment.model_validate(line["payment"])
        vector, pid, at = replayer.payment(payment), tag + payment.payment_id, payment.occurred_at
        decision = DecisionEvent(
            event_id=f"decision:{pid}", at=at + timedelta(seconds=0.05), occurred_at=at,
            customer_id=tag + payment.customer.id, payment_id=pid, decision="allow", score=0.01,
            model_version="m0", reasons=[], channel=payment.channel,
            features=dict(zip(FEATURE_NAMES, map(none_if_nan, vector), strict=True)),
            amount_minor=payment.amount.value, currency=payment.amount.currency,
            merchant_id=payment.merchant.id, terminal_id=payment.merchant.id,
        )  # fmt: skip
        events.append(decision)
        if line["truth"]["fraud"]:
            events.append(label_of(decision, "no_answer", "no_answer", timedelta(minutes=10)))
            events.append(label_of(decision, "fraud", "chargeback", timedelta(days=3)))
        elif n % 10 == 0:
            events.append(label_of(decision, "genuine", "customer_confirmed", timedelta(minutes=4)))
            events.append(DialogueEvent(
                event_id=f"dialogue:dlg_{pid}:answered:0:1", at=at + timedelta(minutes=4),
                customer_id=decision.customer_id, payment_id=pid, dialogue_id=f"dlg_{pid}",
                state="answered", channel="sms", locale="en", answer="confirm",
            ))  # fmt: skip
    return events


def none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value


def label_of(decision: DecisionEvent, value: str, source: str, delay: timedelta) -> LabelEvent:
    at = decision.occurred_at
    return LabelEvent(
        event_id=f"label:{decision.payment_id}:{source}", at=at + delay, label=value,
        source=source, delay_seconds=delay.total_seconds(), occurred_at=at,
        customer_id=decision.customer_id, payment_id=decision.payment_id,
        merchant_id=decision.merchant_id, terminal_id=decision.terminal_id,
    )  # fmt: skip


def snapshot(out: Path) -> dict[str, bytes]:
    """Every dataset file (day partitions and pending rows) by relative path."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in partition_files(out, True)}


async def replay(events: Iterable[AnyEvent]) -> AsyncGenerator[AnyEvent, None]:
    for event in events:
        yield event


async def feed(out: Path, events: Iterable[AnyEvent]) -> DatasetWriter:
    writer = DatasetWriter(out)
    await run_sink(replay(events), writer, SinkRun(flush_seconds=0.05, idle_exit_seconds=0.2))
    writer.close()
    return writer


@pytest.fixture(scope="module")
def events(sim_stream: Path) -> list[AnyEvent]:
    return sim_events(sim_stream)


@pytest.mark.slow
async def test_file_log_redelivered_twice_gives_identical_dataset_and_trains(
    events: list[AnyEvent], make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(bus="file")
    bus = FileBus(settings.event_log_dir)
    await bus.publish(events)
    await bus.close()
    out = tmp_path / "dataset"

    async def run_once() -> DatasetWriter:
        writer = DatasetWriter(out)
        run = SinkRun(flush_seconds=0.1, idle_exit_seconds=0.5)
        await sink(settings, writer, run, "sink-test")
        writer.close()
        return writer

    first = await run_once()
    assert first.added == len(events) and first.duplicates == 0
    dataset = snapshot(out)
    payments = sum(isinstance(e, DecisionEvent) for e in events)
    assert sum(len(raw.splitlines()) for raw in dataset.values()) == payments
    assert all(name.startswith("date=2026-11-") for name in dataset)
    assert (await run_once()).added == 0  # committed offsets: nothing new to read
    for _ in range(2):  # redeliver everything: reset the consumer's offsets to zero
        (out / "_sink" / "offsets-sink-test.json").unlink()
        again = await run_once()
        assert (again.added, again.duplicates) == (0, len(events))
        assert snapshot(out) == dataset

    frauds = sum(isinstance(e, LabelEvent) and e.label == "fraud" for e in events)
    data, counts = sink_dataset(out, Maturity(days=30, as_of=AS_OF))
    assert (counts.rows, counts.fraud, counts.immature) == (payments, frauds, 0)
    assert data.X.shape == (payments, len(FEATURE_NAMES)) and int(data.y.sum()) == frauds
    _, young = sink_dataset(out, Maturity(days=30, as_of=datetime(2026, 11, 20, tzinfo=UTC)))
    assert (
        young.genuine_matured == 0 and young.immature == payments - frauds - young.genuine_labelled
    )

    models = tmp_path / "models"
    argv = ["train", "--from-sink", str(out), "--models", str(models), "--rounds", "20",
            "--promote", "always", "--as-of", AS_OF.isoformat(), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    version = champion_version(models)
    card = orjson.loads((models / str(version) / "card.json").read_bytes())
    assert card["rows"]["train"] + card["rows"]["test"] == payments
    assert card["params"]["source"] == "sink" and card["metrics"]["auc"] > 0.5


async def test_any_order_any_repetition_and_a_killed_sink_give_the_same_bytes(
    events: list[AnyEvent], tmp_path: Path
) -> None:
    subset = events[:3000]
    await feed(tmp_path / "a", subset)
    reference = snapshot(tmp_path / "a")
    shuffled = subset * 2
    random.Random(3).shuffle(shuffled)  # labels before decisions, everything twice
    await feed(tmp_path / "b", shuffled)
    assert snapshot(tmp_path / "b") == reference

    killed = DatasetWriter(tmp_path / "c")
    for event in subset[:2000]:
        killed.add(event)
    killed.flush()
    for event in subset[2000:]:  # journalled, never flushed: the process dies here
        killed.add(event)
    del killed
    restarted = DatasetWriter(tmp_path / "c")  # replays the journal into the partitions
    await run_sink(replay(subset[1500:]), restarted, SinkRun(0.05, 0.2))  # redelivery overlap
    restarted.close()
    assert snapshot(tmp_path / "c") == reference
    assert restarted.added == 0


@pytest.mark.kafka
@pytest.mark.slow
async def test_kafka_group_redelivered_twice_matches_the_file_log_dataset(
    sim_stream: Path, kafka_bootstrap: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    tag = f"k{uuid.uuid4().hex[:6]}_"  # the broker is shared: only this run's payments count
    mine = sim_events(sim_stream, tag, limit=1500)
    await feed(tmp_path / "file", mine)
    second = list(mine)
    random.Random(5).shuffle(second)
    bus = KafkaBus(kafka_bootstrap, idempotent=False)
    try:
        await bus.publish(mine)
        await bus.publish(second)  # a whole redelivery, in another order
    finally:
        await bus.close()
    out = tmp_path / "kafka"
    writer = DatasetWriter(out)
    settings = make_settings(bus=f"kafka://{kafka_bootstrap}")
    run = SinkRun(flush_seconds=0.2, idle_exit_seconds=4.0)
    async with asyncio.timeout(60):
        await sink(settings, writer, run, f"sink-{tag}", **FAST_GROUP)
    writer.close()
    assert writer.added >= len(mine)  # other tests' events share the topics
    rows = {
        row["payment_id"]: row
        for raw in snapshot(out).values()
        for row in map(orjson.loads, raw.splitlines())
        if row["payment_id"].startswith(tag)
    }
    expected = {
        row["payment_id"]: row
        for raw in snapshot(tmp_path / "file").values()
        for row in map(orjson.loads, raw.splitlines())
    }
    assert rows == expected
    assert sum(len(r["event_ids"]) for r in rows.values()) == len(mine)


async def test_sink_reads_what_the_real_service_published(
    sim_stream: Path,
    make_settings: Callable[..., Settings],
    start_app: Callable[[Settings], Awaitable[Client]],
    tmp_path: Path,
) -> None:
    settings = make_settings(bus="file")
    client = await start_app(settings)
    lines = list(itertools.islice(read_lines(sim_stream), 40))
    for line in lines:
        assert (await client.post("/v1/score", json=line["payment"])).status == 200
    chargebacks = [line["payment"]["payment_id"] for line in lines[:5]]
    for pid in chargebacks:
        body = {"label": "fraud", "source": "chargeback"}
        assert (await client.post(f"/v1/payments/{pid}/labels", json=body)).status == 202
    await client.close()  # shutdown drains the outbox into the file log
    out = tmp_path / "dataset"
    writer = DatasetWriter(out)
    await sink(settings, writer, SinkRun(0.1, 0.5), "svc")
    writer.close()
    rows = {
        r["payment_id"]: r
        for raw in snapshot(out).values()
        for r in map(orjson.loads, raw.splitlines())
    }
    assert set(rows) == {line["payment"]["payment_id"] for line in lines}
    for pid in chargebacks:
        row = rows[pid]
        assert (row["label"], row["label_source"]) == ("fraud", "chargeback")
        assert row["label_delay_seconds"] > 0 and row["features"] is not None
        assert row["decision"] is not None and row["label_propensity"] == row["propensity"]


def test_sink_without_kafka_says_so_in_one_line_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sink pointed at a Kafka that is not there exits non-zero with what to do next."""
    monkeypatch.setenv("FRICTION_BUS", "kafka://127.0.0.1:9")
    monkeypatch.setenv("FRICTION_DATA_DIR", str(tmp_path / "var"))
    assert main(["sink", "--out", str(tmp_path / "dataset"), "--idle-exit", "1"]) != 0
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("error: Kafka is not reachable at 127.0.0.1:9")
    assert "FRICTION_BUS=file" in error[-1] and "Traceback" not in "".join(error)
