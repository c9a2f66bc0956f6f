"""``friction backtest --sweep``: the same comparison on many streams the policy never saw.

Simulated worlds of several seeds and sizes (each starting the day after the champion's
data ends, and checked for shared payments), plus the handbook when given. Each stream is
compared on its own (``compare.compare``): the policy is fitted on its first days and
judged on the rest. The spread across streams (min, median, max) is the claim.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from statistics import median

from rich.table import Table

from friction.backtest.compare import StreamResult, compare
from friction.backtest.provenance import overlap
from friction.offline.cases import simulated_cases
from friction.offline.policy_fit import after_days
from friction.progress import progress_bar
from friction.scoring.registry import load_card, load_model
from friction.settings import Settings
from friction.simulation.config import SimConfig
from friction.simulation.stream import write_stream


class OverlapRefused(ValueError):
    """A stream of the sweep shares payments with the champion's training data."""


@dataclass
class SweepOptions:
    """Which streams to compare and how each is split."""

    models_dir: Path
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])
    sizes: list[tuple[int, int]] = field(default_factory=lambda: [(30, 2000), (45, 4000)])
    """(days, customers) of each simulated world."""
    fit_days: float = 7.0
    handbook: Path | None = None
    train_days: int = 61
    cache: Path | None = None


def run_sweep(options: SweepOptions, settings: Settings, show: bool) -> list[StreamResult]:
    """Every stream of the sweep compared, simulated worlds first, then the handbook."""
    card = load_card(options.models_dir)
    model = load_model(options.models_dir, card.version)
    end = card.test_end or card.train_end
    start = end.date() + timedelta(days=1) if end is not None else date(2027, 1, 1)
    worlds = [(seed, size) for size in options.sizes for seed in options.seeds]
    results: list[StreamResult] = []
    total = len(worlds) + (options.handbook is not None)
    with (
        progress_bar("sweep (streams)", total, show) as advance,
        tempfile.TemporaryDirectory(prefix="friction-sweep-") as folder,
    ):
        for seed, (days, customers) in worlds:
            config = SimConfig(seed=seed, days=days, customers=customers, start=start)
            name = f"sim seed {seed} · {days} d · {customers:,} customers"
            path = Path(folder) / f"{seed}-{days}-{customers}.jsonl"
            write_stream(config, path)
            cases = simulated_cases(path, model, lambda _n: None)
            path.unlink()
            found = overlap(card, cases)
            if found.refused:
                raise OverlapRefused(f"{name}: {found.message()}")
            results.append(compare(name, cases, settings, after_days(cases, options.fit_days)))
            advance(1)
        if options.handbook is not None:
            from friction.backtest.handbook import handbook

            cases, replay_from = handbook(
                options.handbook, options.train_days, options.cache, lambda _n: None
            )
            name = f"handbook · train {options.train_days} d"
            results.append(compare(name, cases, settings, replay_from))
            advance(1)
    return results


def spread(results: list[StreamResult]) -> dict[str, dict[str, float]]:
    """Min, median and max across streams of fewer good declined and friction rate."""
    fewer = [float(str(r.target["fewer_good_declined"])) for r in results]
    friction = [r.smart.friction_rate for r in results]
    return {
        name: {"min": min(values), "median": median(values), "max": max(values)}
        for name, values in (("fewer_good_declined", fewer), ("friction_rate", friction))
    }


def sweep_table(results: list[StreamResult]) -> Table:
    """One row per stream, then the spread."""
    grid = Table(title="smart friction vs silent blocking at equal fraud value stopped")
    for column in ("stream", "replayed", "fraud value stopped (EUR): smart · silent",
                   "value gap", "good declined: silent → smart",
                   "fewer", "friction rate", "max / customer", "reviews"):  # fmt: skip
        grid.add_column(column, justify="left" if column == "stream" else "right")
    for result in results:
        silent, smart = result.policies[1], result.smart
        grid.add_row(
            result.stream,
            f"{smart.payments:,}",
            f"{smart.fraud_value_stopped:,.0f} · {silent.fraud_value_stopped:,.0f}",
            f"{float(str(result.target['fraud_value_gap'])):+.1%}",
            f"{silent.good_declined:,} → {smart.good_declined:,}",
            f"{float(str(result.target['fewer_good_declined'])):.1%}",
            f"{smart.friction_rate:.2%}",
            str(smart.max_challenges_per_customer),
            f"{smart.reviews:,}",
        )
    grid.add_section()
    stats = spread(results)
    for key in ("min", "median", "max"):
        fewer, friction = stats["fewer_good_declined"][key], stats["friction_rate"][key]
        grid.add_row(key, "", "", "", "", f"{fewer:.1%}", f"{friction:.2%}", "", "", style="bold")
    return grid
