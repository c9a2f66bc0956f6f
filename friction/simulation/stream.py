"""The simulated stream: JSON lines ``{"payment": …, "truth": …}`` in time order.

``simulate`` yields the lines, ``write_stream`` writes them (with an optional
rich progress bar) and ``read_stream`` reads a file back. The whole run is
drawn from one seeded numpy Generator, so a config always gives the same bytes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from operator import attrgetter
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from friction.simulation.answers import truths
from friction.simulation.config import SCENARIOS, SimConfig, SimSummary
from friction.simulation.customers import Clock, genuine_drafts
from friction.simulation.scenarios import bin_attack, fraud_drafts
from friction.simulation.world import Draft, build_world

Tick = Callable[[int], None]
ANSWER_STREAM = 1  # a second, independent Generator stream for the answers


def plan(config: SimConfig, tick: Tick | None = None) -> list[Draft]:
    """Every payment of the run, genuine and fraud, sorted by time (ties keep draw order)."""
    rng = np.random.default_rng(config.seed)
    world = build_world(config, rng)
    clock = Clock(config.start, config.days)
    drafts: list[Draft] = []
    for customer in world.customers:
        drafts.extend(genuine_drafts(world, clock, customer))
        if tick is not None:
            tick(1)
    drafts.extend(fraud_drafts(world, clock, len(drafts), config.fraud_rate))
    for _ in range(config.bin_attack_cards):
        drafts.extend(d for d in bin_attack(world, clock) if clock.inside(d.ts))
    drafts.sort(key=attrgetter("ts"))
    return drafts


def render(config: SimConfig, drafts: list[Draft]) -> Iterator[dict[str, Any]]:
    """The stream lines of planned payments, each with its payment id and truth."""
    rng = np.random.default_rng([config.seed, ANSWER_STREAM])
    rows = [(d.scenario, d.channel) for d in drafts]
    for n, (draft, truth) in enumerate(zip(drafts, truths(rng, rows), strict=True)):
        yield {"payment": payment_body(draft, f"pay_{config.seed}_{n:07d}"), "truth": truth}


def payment_body(draft: Draft, payment_id: str) -> dict[str, Any]:
    """The ``Payment`` wire body of a draft: token, BIN and last 4 only, never a card number."""
    customer, merchant = draft.customer, draft.merchant
    card = draft.card or (customer.token, customer.bin, customer.last4)
    body: dict[str, Any] = {
        "payment_id": payment_id,
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(draft.ts)),
        "amount": {"value": draft.amount, "currency": customer.country.currency},
        "customer": {"id": customer.id, "phone": customer.phone, "locale": customer.country.locale},
        "instrument": dict(zip(("token", "bin", "last4"), card, strict=True)),
        "merchant": {
            "id": merchant.id,
            "name": merchant.name,
            "mcc": merchant.mcc,
            "country": merchant.country,
            "terminal_id": draft.terminal,
        },
        "channel": draft.channel,
    }
    if draft.device is not None:
        device: dict[str, Any] = {"id": draft.device.id, "ip": draft.device.ip}
        if draft.geo is not None:
            device["geo"] = {"lat": draft.geo[0], "lon": draft.geo[1]}
        body["device"] = device
    if draft.payee is not None:
        payee = draft.payee
        body["payee"] = {"id": payee.id, "name": payee.name, "account_last4": payee.last4}
    return body


def simulate(config: SimConfig) -> Iterator[dict[str, Any]]:
    """The stream lines of a run, in ``occurred_at`` order."""
    yield from render(config, plan(config))


def write_stream(config: SimConfig, path: Path | str, progress: bool = False) -> SimSummary:
    """Write the run as JSON lines to ``path`` and say what it holds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _progress(progress) as bar:
        people = bar.add_task("customers", total=config.customers)
        drafts = plan(config, lambda k: bar.advance(people, k))
        rows = bar.add_task("payments", total=len(drafts))
        counts: Counter[str] = Counter()
        with path.open("wb") as handle:
            for n, line in enumerate(render(config, drafts), 1):
                handle.write(orjson.dumps(line) + b"\n")
                counts[line["truth"]["scenario"]] += 1
                if n % 5000 == 0 or n == len(drafts):
                    bar.update(rows, completed=n)
    return summarise(counts, drafts)


def summarise(counts: Counter[str], drafts: list[Draft]) -> SimSummary:
    """A summary from scenario counts and the (sorted) drafts."""
    first = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(drafts[0].ts)) if drafts else None
    last = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(drafts[-1].ts)) if drafts else None
    return SimSummary(
        rows=sum(counts.values()),
        fraud=sum(v for k, v in counts.items() if k != "genuine"),
        by_scenario={
            s: counts.get(s, 0) for s in (*SCENARIOS, *sorted(set(counts) - set(SCENARIOS)))
        },
        first=first,
        last=last,
    )


def read_stream(path: Path | str) -> Iterator[dict[str, Any]]:
    """The lines of a stream file, as written (blank lines skipped)."""
    with Path(path).open("rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


def _progress(enabled: bool) -> Progress:
    """A rich progress display on stderr (stdout stays for results), off unless asked for."""
    return Progress(
        TextColumn("{task.description:>10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )
