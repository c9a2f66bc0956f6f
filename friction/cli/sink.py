"""``friction sink``: keep the training dataset up to date from the event bus.

The source follows ``FRICTION_BUS`` like the service does: ``kafka://…`` joins a
consumer group (offsets committed in Kafka), ``file`` reads the local event log
under ``FRICTION_DATA_DIR`` with offsets kept beside the dataset.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any, cast

from friction.domain.records import AnyEvent
from friction.events.kafka_bus import bootstrap_of, consume
from friction.events.sink import STATE, TOPICS, DatasetWriter, FileLogReader, SinkRun, run_sink
from friction.settings import Settings

EPILOG = """\
examples:
  friction sink --out var/dataset                      # follow the bus forever
  friction sink --out var/dataset --idle-exit 10       # catch up, then stop
  friction train --from-sink var/dataset --models models
"""


def register(sub: Any) -> None:
    """Add the ``sink`` subcommand."""
    parser = sub.add_parser(
        "sink",
        help="write the training dataset from decisions, dialogues and labels on the bus",
        description=(
            "Consume the decisions, dialogues and labels topics (FRICTION_BUS: Kafka consumer "
            "group or the local file log) and keep <out>/date=YYYY-MM-DD/part-*.jsonl up to "
            "date: one row per payment, its features and latest label. Safe to re-run: "
            "redelivered events change nothing."
        ),
        epilog=EPILOG,
    )
    parser.add_argument("--out", type=Path, required=True, help="dataset folder")
    parser.add_argument(
        "--group", default="friction-sink", help="consumer group / file-log consumer name"
    )
    parser.add_argument("--idle-exit", type=float, metavar="S", help="stop after S idle seconds")
    parser.add_argument("--flush-seconds", type=float, default=2.0, help="seconds between flushes")
    parser.add_argument("--parts", type=int, default=4, help="files per day partition")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from friction.cli.common import load_settings

    settings = load_settings()
    writer = DatasetWriter(args.out, parts=args.parts)
    run = SinkRun(flush_seconds=args.flush_seconds, idle_exit_seconds=args.idle_exit)
    try:
        asyncio.run(sink(settings, writer, run, args.group))
    except KeyboardInterrupt:
        pass
    finally:
        writer.close()
    print(f"sink {args.out}: {writer.rows} payments, {writer.added} new events, "
          f"{writer.duplicates} duplicates skipped")  # fmt: skip
    return 0


async def sink(
    settings: Settings, writer: DatasetWriter, run: SinkRun, group: str, **group_timing: int
) -> None:
    """Run the sink on the bus named by ``settings.bus`` until idle (or forever).

    ``group_timing`` (``session_timeout_ms``, ``heartbeat_interval_ms``) goes to the Kafka
    consumer: tests shorten it because Tansu holds a rejoin until the old session expires.
    """
    events: AsyncGenerator[AnyEvent, None]
    if settings.bus.startswith("kafka://"):
        # ``consume`` is an async generator (annotated as an iterator): close it explicitly.
        stream = consume(bootstrap_of(settings.bus), TOPICS, group, **group_timing)
        events = cast(AsyncGenerator[AnyEvent, None], stream)
    else:
        reader = FileLogReader(settings.event_log_dir, writer.out / STATE, group)
        run.checkpoint = reader.commit
        events = reader.events()
    async with contextlib.aclosing(events) as open_events:
        await run_sink(open_events, writer, run)
