"""The spill journal cannot lose a line (issue 15.2), on the real stores.

The old journal replayed a file, awaited the store, then deleted or rewrote the file:
lines appended meanwhile were gone. Here lines appended during a replay, a store that
fails half-way through, a process that died with lines on disk, a torn last line and
an unreadable one are each shown to end with every answered decision stored once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from friction.domain.decision import PaymentStatus
from friction.domain.events import DecisionEvent
from friction.domain.records import PaymentRecord
from friction.service.spill import Spilled, SpillJournal
from friction.storage.embedded import EmbeddedStore
from friction.storage.redis_store import RedisStore
from tests.servers import ServerProcess, free_port

NOW = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)


def spilled(key: str) -> Spilled:
    """A degraded decision's line, as the scorer writes it."""
    status = PaymentStatus(
        payment_id=key, decision="allow", verdict="released", score=0.1, model_version="m1",
        reasons=[], decided_at=NOW, verdict_at=NOW,
    )  # fmt: skip
    record = PaymentRecord(
        body_hash=f"h-{key}", response=f'{{"payment_id":"{key}"}}', status=status,
        customer_id="cus_1", merchant_id="mer_1", merchant_name="ACME", terminal_id="ter_1",
        occurred_at=NOW, amount_minor=4200, currency="EUR", channel="ecom",
    )  # fmt: skip
    event = DecisionEvent(
        event_id=f"decision:{key}", at=NOW, customer_id="cus_1", payment_id=key,
        occurred_at=NOW, decision="allow", score=0.1, model_version="m1", reasons=[],
        features={}, amount_minor=4200, currency="EUR", merchant_id="mer_1",
        terminal_id="ter_1", channel="ecom", degraded=True,
    )  # fmt: skip
    return Spilled(key=key, record=record, events=[event])


@pytest.fixture
async def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "friction.db")


async def decision_events(store: EmbeddedStore | RedisStore) -> list[str]:
    return [e.event.event_id for e in await store.pending(10_000)]


async def test_lines_appended_during_a_replay_are_stored_by_the_next(
    tmp_path: Path, store: EmbeddedStore
) -> None:
    journal = SpillJournal(tmp_path / "spill")
    for n in range(3):
        journal.append(spilled(f"pay_{n}"))
    stored: list[str] = []

    def on_stored(line: Spilled) -> None:  # the scorer keeps spilling while a replay runs
        stored.append(line.key)
        journal.append(spilled(line.key + "_later"))

    assert await journal.replay(store, on_stored) == 3
    assert journal.pending == 3
    assert await journal.replay(store, lambda line: stored.append(line.key)) == 3
    assert journal.pending == 0
    assert sorted(stored) == sorted([f"pay_{n}" for n in range(3)] +
                                    [f"pay_{n}_later" for n in range(3)])  # fmt: skip
    for key in stored:
        assert await store.get_payment(key) is not None
    journal.close()
    assert list((tmp_path / "spill").iterdir()) == []
    await store.close()


async def test_replay_is_idempotent(tmp_path: Path, store: EmbeddedStore) -> None:
    journal = SpillJournal(tmp_path / "spill")
    await store.commit(spilled("pay_stored").change())  # a commit that landed after all
    for key in ("pay_stored", "pay_twice", "pay_twice"):
        journal.append(spilled(key))
    assert await journal.replay(store, lambda line: None) == 3
    assert sorted(await decision_events(store)) == ["decision:pay_stored", "decision:pay_twice"]
    journal.close()
    await store.close()


@pytest.mark.redis
async def test_a_store_failing_half_way_keeps_the_rest_and_counts_once(
    tmp_path: Path, own_redis: ServerProcess
) -> None:
    redis = RedisStore.from_url(f"redis://127.0.0.1:{own_redis.port}/0", timeout_s=0.2)
    journal = SpillJournal(tmp_path / "spill")
    for n in range(6):
        journal.append(spilled(f"pay_{n}"))
    stored: list[str] = []

    def freeze_after_two(line: Spilled) -> None:
        stored.append(line.key)
        if len(stored) == 2:
            own_redis.freeze()

    try:
        assert await journal.replay(redis, freeze_after_two) == 2
        assert journal.pending == 4
        own_redis.thaw()
        assert await journal.replay(redis, lambda line: stored.append(line.key)) == 4
    finally:
        own_redis.thaw()
    assert journal.pending == 0
    assert stored == [f"pay_{n}" for n in range(6)]
    assert sorted(await decision_events(redis)) == sorted(f"decision:pay_{n}" for n in range(6))
    journal.close()
    await redis.close()


async def test_an_unreachable_store_keeps_every_line(tmp_path: Path, store: EmbeddedStore) -> None:
    down = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.2)
    journal = SpillJournal(tmp_path / "spill")
    for n in range(4):
        journal.append(spilled(f"pay_{n}"))
    for _ in range(3):
        assert await journal.replay(down, lambda line: None) == 0
    assert journal.pending == 4
    assert await journal.replay(store, lambda line: None) == 4
    journal.close()
    await down.close()
    await store.close()


async def test_a_dead_process_folder_is_replayed_by_another(
    tmp_path: Path, store: EmbeddedStore
) -> None:
    root = tmp_path / "spill"
    gone, alive = SpillJournal(root), SpillJournal(root)
    gone.append(spilled("pay_gone"))
    survivor = SpillJournal(root)
    assert await survivor.replay(store, lambda line: None) == 0  # both owners still live
    gone.close()  # its lines stay on disk, its lock is released, as when a process dies
    assert await survivor.replay(store, lambda line: None) == 1
    assert await store.get_payment("pay_gone") is not None
    alive.close()
    survivor.close()
    assert list(root.iterdir()) == []
    await store.close()


async def test_a_torn_last_line_is_skipped_and_an_unreadable_one_kept_aside(
    tmp_path: Path, store: EmbeddedStore
) -> None:
    root = tmp_path / "spill"
    dead = root / "1-1"
    dead.mkdir(parents=True)
    good = [spilled(k).model_dump_json().encode() for k in ("pay_a", "pay_b")]
    torn = spilled("pay_torn").model_dump_json().encode()[:40]  # never answered
    (dead / "000000000001.jsonl").write_bytes(good[0] + b"\n{not json\n" + good[1] + b"\n" + torn)
    journal = SpillJournal(root)
    assert await journal.replay(store, lambda line: None) == 2
    assert await store.get_payment("pay_torn") is None
    assert [p.name for p in dead.glob("0*")] == ["000000000001.unreadable"]
    journal.close()
    await store.close()
