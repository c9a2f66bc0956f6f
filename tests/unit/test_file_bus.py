"""The local event log holds each event once, across re-publishing and restarts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from friction.domain.events import LabelEvent
from friction.events.file_bus import FileBus, read_events

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def label(n: int) -> LabelEvent:
    return LabelEvent(
        event_id=f"label:p{n}:chargeback", at=NOW, customer_id="c", payment_id=f"p{n}",
        label="fraud", source="chargeback", delay_seconds=1.0, merchant_id="m",
        terminal_id="t", occurred_at=NOW,
    )  # fmt: skip


async def test_republished_events_are_written_once_even_after_restart(tmp_path: Path) -> None:
    bus = FileBus(tmp_path)
    await bus.publish([label(1), label(2)])
    await bus.publish([label(2), label(3)])
    await bus.close()
    reopened = FileBus(tmp_path)
    await reopened.publish([label(3), label(4)])
    await reopened.close()
    ids = [e.payment_id for e in read_events(tmp_path, "labels")]
    assert ids == ["p1", "p2", "p3", "p4"]
    line = (tmp_path / "labels.jsonl").read_text().splitlines()[0]
    assert '"schema":"label/v1"' in line
