"""Demo data made by the real service: ``make_demo_data(directory, seed)``.

Rather than fabricate events, this runs friction in-process (``build_app`` on an
aiohttp test server on 127.0.0.1), posts a few hundred simulated payments, answers
the challenges the way the simulated customers would (in-app with the prompt's
token, or by SMS through the console channel), lets some expire, and reports
chargebacks and analyst verdicts. The event log under ``<directory>/events`` then
holds exactly what production would write, so notebooks and the report exercise
the real schemas. Each action happens at its moment of the simulated world
(``demo_timeline``): answers take the seconds to minutes customers take.

A new service knows nobody: its customers' 30-day counts and amounts fill up over its
first month, which reads as drift that no running service has. So a warm-up month of
the same customers is posted first; its events are moved to ``<directory>/warmup``
and the analysed period (``days``) starts with the feature state a month of traffic
left. It takes a few seconds (plus ~10 s to train a small model when ``models_dir``
is not given).

Layout written::

    <directory>/events/{decisions,dialogues,labels}.jsonl   the event log of the period
    <directory>/warmup/events/...                            the warm-up month's events
    <directory>/models/                                      registry with the champion used
    <directory>/streams/{train,demo}.jsonl                   simulated streams
    <directory>/demo.json                                    DemoSummary
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import shutil
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from pydantic import BaseModel

from friction.analytics.demo_service import DemoService
from friction.analytics.demo_timeline import replay
from friction.offline.train import TrainOptions, train
from friction.scoring.registry import CHAMPION, champion_version
from friction.settings import Settings
from friction.simulation import SimConfig, read_stream, write_stream

PAYMENTS_PER_CUSTOMER = 4
"""Payments per customer in the period: the stream is thinned to it, so a week's payments
come from many customers (a few customers' habits would read as drift week to week)."""
MIN_CUSTOMERS = 30


@dataclass(frozen=True)
class DemoOptions:
    """How much demo to make; the defaults run in a few seconds."""

    seed: int = 7
    payments: int = 400
    days: int = 14
    warmup_days: int = 30
    """Traffic posted before the period (its events kept apart): the longest feature window."""
    challenge_at: float = 0.1
    friction_budget: int = 4
    fraud_rate: float = 10.0
    decline_at: float = 0.6
    overwrite: bool = False


class DemoSummary(BaseModel):
    """What a demo run produced (also written to ``<directory>/demo.json``)."""

    directory: str
    seed: int
    model_version: str
    warmup_payments: int = 0
    payments: int
    decisions: dict[str, int]
    answers: dict[str, int]
    labels_posted: dict[str, int]
    frauds: int


def make_demo_data(
    directory: Path | str,
    seed: int = 7,
    *,
    payments: int = 400,
    models_dir: Path | None = None,
    options: DemoOptions | None = None,
    quiet: bool = True,
) -> DemoSummary:
    """Fill ``directory`` with real events from a short in-process service run.

    ``models_dir``: a registry whose champion to serve (copied in); without it a small
    model is trained on a separate simulated stream. Safe to call from Jupyter (runs
    the service's event loop in a worker thread when one is already running).
    """
    base = options or DemoOptions()
    chosen = DemoOptions(**{**base.__dict__, "seed": seed, "payments": payments})
    job = make_demo_data_async(Path(directory), chosen, models_dir, quiet)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(job)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, job).result()


async def make_demo_data_async(
    directory: Path, options: DemoOptions, models_dir: Path | None = None, quiet: bool = True
) -> DemoSummary:
    """The coroutine behind ``make_demo_data`` (for callers already in an event loop)."""
    _prepare(directory, options.overwrite)
    models = directory / "models"
    version = _install_model(directory, models, models_dir, options)
    warmup, lines = _demo_stream(directory, options)
    settings = Settings(
        data_dir=directory, models_dir=models, challenge_at=options.challenge_at,
        decline_at=options.decline_at, friction_budget=options.friction_budget, http_port=0,
        dev_endpoints=True,
    )  # fmt: skip
    sink = io.StringIO() if quiet else None  # the console channel prints every prompt
    with contextlib.redirect_stdout(sink) if sink else contextlib.nullcontext():
        service = await _drive(settings, [*warmup, *lines], options)
    earlier = {line["payment"]["payment_id"] for line in warmup}
    move_events(settings.event_log_dir, directory / "warmup" / "events", earlier)
    period = {p.payment_id for p in service.done} - earlier
    summary = DemoSummary(
        directory=str(directory), seed=options.seed, model_version=version,
        warmup_payments=len(warmup), payments=len(lines),
        decisions=dict(Counter(p.decision for p in service.done if p.payment_id in period)),
        answers=dict(Counter(what for paid, what in service.answers if paid in period)),
        labels_posted=dict(Counter(what for paid, what in service.labels if paid in period)),
        frauds=sum(bool(x["truth"]["fraud"]) for x in lines),
    )  # fmt: skip
    (directory / "demo.json").write_text(summary.model_dump_json(indent=2) + "\n")
    return summary


def move_events(source: Path, target: Path, payment_ids: set[str]) -> None:
    """Move the events about ``payment_ids`` from the event log at ``source`` to one at
    ``target`` (same topics, same lines, same order)."""
    target.mkdir(parents=True, exist_ok=True)
    for log in sorted(source.glob("*.jsonl")):
        kept: list[bytes] = []
        moved: list[bytes] = []
        for line in log.read_bytes().splitlines(keepends=True):
            about = orjson.loads(line).get("payment_id")
            (moved if about in payment_ids else kept).append(line)
        log.write_bytes(b"".join(kept))
        (target / log.name).write_bytes(b"".join(moved))


def _prepare(directory: Path, overwrite: bool) -> None:
    """An empty place for the run: the event log appends, so old events would mix in."""
    events = directory / "events"
    if events.exists() and any(events.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{directory} already holds events; pass overwrite/--force")
        shutil.rmtree(events)
        shutil.rmtree(directory / "warmup", ignore_errors=True)
        for name in ("friction.db", "friction.db-wal", "friction.db-shm", "demo.json"):
            (directory / name).unlink(missing_ok=True)
    directory.mkdir(parents=True, exist_ok=True)


def _install_model(directory: Path, models: Path, source: Path | None, options: DemoOptions) -> str:
    """Copy ``source``'s champion into ``models``, or train one; the champion's version."""
    if source is not None:
        version = champion_version(source)
        if version is None:
            raise FileNotFoundError(f"no champion in {source}; run `friction train`")
        shutil.copytree(source / version, models / version, dirs_exist_ok=True)
        (models / CHAMPION).write_text(version + "\n")
        return version
    if champion_version(models) is None:
        stream = directory / "streams" / "train.jsonl"
        config = SimConfig(seed=options.seed, days=options.days, customers=300, fraud_rate=4.0)
        write_stream(config, stream)
        train(TrainOptions(data=stream, models_dir=models, rounds=30, promote="always"))
    version = champion_version(models)
    if version is None:  # promote="always" guarantees one; this keeps mypy and readers sure
        raise RuntimeError("training promoted no model")
    return version


def _demo_stream(
    directory: Path, options: DemoOptions
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The warm-up's and the period's simulated payments (``options.payments`` of them over
    ``options.days``, the warm-up thinned alike), each in time order."""
    customers = max(MIN_CUSTOMERS, options.payments // PAYMENTS_PER_CUSTOMER)
    config = SimConfig(
        seed=options.seed + 1, days=options.warmup_days + options.days, customers=customers,
        merchants=max(40, customers),
        fraud_rate=options.fraud_rate,
    )  # fmt: skip
    path = directory / "streams" / "demo.jsonl"
    write_stream(config, path)
    lines = list(read_stream(path))
    period = str(config.start + timedelta(days=options.warmup_days))
    split = next((i for i, x in enumerate(lines) if x["payment"]["occurred_at"] >= period), 0)
    warmup, period_lines = lines[:split], lines[split:]
    ratio = min(1.0, options.payments / max(1, len(period_lines)))
    return _thin(warmup, ratio), _thin(period_lines, ratio)


def _thin(lines: list[dict[str, Any]], ratio: float) -> list[dict[str, Any]]:
    """Every line kept with ``ratio`` (evenly, so every week keeps its share)."""
    count = round(len(lines) * ratio)
    if count >= len(lines):
        return lines
    keep = np.linspace(0, len(lines) - 1, count).round().astype(int)
    return [lines[i] for i in keep]


async def _drive(
    settings: Settings, lines: list[dict[str, Any]], options: DemoOptions
) -> DemoService:
    """Post every payment at its moment, answer challenges when customers would, run the
    dialogue timers when due, post the late labels (``demo_timeline.replay``)."""
    rng = np.random.default_rng([options.seed, 2])
    service_for = functools.partial(DemoService, settings, rng)
    return await replay(service_for, lines, rng, settings.ladder_step_seconds)
