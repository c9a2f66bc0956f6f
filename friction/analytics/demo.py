"""Demo data made by the real service: ``make_demo_data(directory, seed)``.

Rather than fabricate events, this runs friction in-process (``build_app`` on an
aiohttp test server on 127.0.0.1), posts a few hundred simulated payments, answers
the challenges the way the simulated customers would (in-app with the prompt's
token, or by SMS through the console channel), lets some expire, and reports
chargebacks and analyst verdicts. The event log under ``<directory>/events`` then
holds exactly what production would write, so notebooks and the report exercise
the real schemas. It takes a few seconds (plus ~10 s to train a small model when
``models_dir`` is not given).

Layout written::

    <directory>/events/{decisions,dialogues,labels}.jsonl   the event log
    <directory>/models/                                      registry with the champion used
    <directory>/streams/{train,demo}.jsonl                   simulated streams
    <directory>/demo.json                                    DemoSummary
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from friction.analytics.demo_service import DemoService, Pending
from friction.offline.train import TrainOptions, train
from friction.scoring.registry import CHAMPION, champion_version
from friction.settings import Settings
from friction.simulation import SimConfig, read_stream, write_stream

PAYMENTS_PER_CUSTOMER_DAY = 2.0  # roughly what the simulator draws
ANSWER_BATCH = 20  # challenges are answered after this many further payments
REPLAY_WINDOW_DAYS = 36_500  # occurred_at of simulated history may lie anywhere in a century


@dataclass(frozen=True)
class DemoOptions:
    """How much demo to make; the defaults run in a few seconds."""

    seed: int = 7
    payments: int = 400
    days: int = 14
    challenge_at: float = 0.1
    dialogue_ttl_seconds: float = 2.0
    friction_budget: int = 4
    fraud_rate: float = 10.0
    decline_at: float = 0.6
    overwrite: bool = False


class DemoSummary(BaseModel):
    """What a demo run produced (also written to ``<directory>/demo.json``)."""

    directory: str
    seed: int
    model_version: str
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
    lines = _demo_stream(directory, options)
    settings = Settings(
        data_dir=directory, models_dir=models, challenge_at=options.challenge_at,
        decline_at=options.decline_at,
        dialogue_ttl_seconds=options.dialogue_ttl_seconds, expiry_check_seconds=0.05,
        friction_budget=options.friction_budget, http_port=0, dev_endpoints=True,
        # simulated history, dated from the world's start: no window around today's clock
        occurred_at_max_age_days=REPLAY_WINDOW_DAYS,
        occurred_at_max_ahead_seconds=REPLAY_WINDOW_DAYS * 86_400,
    )  # fmt: skip
    sink = io.StringIO() if quiet else None  # the console channel prints every prompt
    with contextlib.redirect_stdout(sink) if sink else contextlib.nullcontext():
        summary = await _drive(settings, lines, options)
    summary = summary.model_copy(update={"directory": str(directory), "model_version": version})
    (directory / "demo.json").write_text(summary.model_dump_json(indent=2) + "\n")
    return summary


def _prepare(directory: Path, overwrite: bool) -> None:
    """An empty place for the run: the event log appends, so old events would mix in."""
    events = directory / "events"
    if events.exists() and any(events.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{directory} already holds events; pass overwrite/--force")
        shutil.rmtree(events)
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


def _demo_stream(directory: Path, options: DemoOptions) -> list[dict[str, Any]]:
    """``options.payments`` simulated payments spread over ``options.days``, in time order."""
    per_customer = PAYMENTS_PER_CUSTOMER_DAY * options.days
    customers = max(5, int(np.ceil(1.3 * options.payments / per_customer)))
    config = SimConfig(
        seed=options.seed + 1, days=options.days, customers=customers,
        fraud_rate=options.fraud_rate,
    )  # fmt: skip
    path = directory / "streams" / "demo.jsonl"
    write_stream(config, path)
    lines = list(read_stream(path))
    if len(lines) > options.payments:  # thin evenly so every week keeps its share
        keep = np.linspace(0, len(lines) - 1, options.payments).round().astype(int)
        lines = [lines[i] for i in keep]
    return lines


async def _drive(
    settings: Settings, lines: list[dict[str, Any]], options: DemoOptions
) -> DemoSummary:
    """Score every payment, answer challenges in batches, post labels, let the rest expire."""
    rng = np.random.default_rng([options.seed, 2])
    decisions: Counter[str] = Counter()
    async with DemoService(settings, rng) as service:
        queue: list[Pending] = []
        for line in lines:
            customer = line["payment"]["customer"]["id"]
            if any(p.customer_id == customer for p in queue):
                await service.answer_all(queue)  # an SMS reply goes to the newest dialogue
            pending = await service.score(line)
            decisions[pending.decision] += 1
            if pending.dialogue_id is not None:
                queue.append(pending)
            if queue and service.scored - queue[0].order >= ANSWER_BATCH:
                await service.answer_all(queue)
        await service.answer_all(queue)
        await service.post_labels()
        await asyncio.sleep(options.dialogue_ttl_seconds + 0.3)  # the silent ones expire
    return DemoSummary(
        directory="", seed=options.seed, model_version="", payments=len(lines),
        decisions=dict(decisions), answers=dict(service.answers),
        labels_posted=dict(service.labels), frauds=sum(bool(x["truth"]["fraud"]) for x in lines),
    )  # fmt: skip
