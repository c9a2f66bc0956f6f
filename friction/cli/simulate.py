"""``friction simulate``: write a seeded payment stream and print what it holds."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from friction.simulation.config import SimConfig, SimSummary
from friction.simulation.stream import write_stream

DESCRIPTION = """\
Generate a realistic, reproducible payment stream as JSON lines, one
{"payment": <POST /v1/score body>, "truth": {...}} per line, in time order.

Customers keep daily rhythms and spending habits; fraud arrives as card
testing, compromised terminals, account takeover, stolen cards and
authorised-push-payment scams. "truth" holds the label and how the customer
would answer a challenge. The same options and seed always give the same file.
"""
EPILOG = """\
examples:
  friction simulate --out var/sim.jsonl
  friction simulate --out small.jsonl --days 3 --customers 200 --seed 1
  friction simulate --out heavy.jsonl --fraud-rate 3 --start 2026-12-01
"""


# (flag, type, metavar, help); the default comes from SimConfig so the two never disagree.
OPTIONS: tuple[tuple[str, Callable[[str], object], str, str], ...] = (
    ("--days", int, "N", "length of the stream in days"),
    ("--customers", int, "N", "number of customers"),
    ("--seed", int, "N", "random seed; the same seed gives the same bytes"),
    ("--start", date.fromisoformat, "YYYY-MM-DD", "first day of the stream, UTC"),
    ("--fraud-rate", float, "X", "multiplier on the base fraud incidence of about 1%%"),
    ("--bin-attack-cards", int, "N", "cards of a never-issued BIN range (539999xx) used by "
     "a fraud ring: a pattern the model never saw, for rule backtests"),
)  # fmt: skip


def register(subparsers: Any) -> None:
    """Add the ``simulate`` subcommand to the ``friction`` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "simulate",
        help="generate a seeded, labelled payment stream (JSON lines)",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument("--out", type=Path, required=True, metavar="PATH",
                        help="file to write (parent folders are created)")  # fmt: skip
    defaults = SimConfig()
    for flag, kind, metavar, text in OPTIONS:
        default = getattr(defaults, flag[2:].replace("-", "_"))
        parser.add_argument(flag, type=kind, default=default, metavar=metavar, help=text)
    parser.add_argument("--merchants", type=int, default=None, metavar="N",
                        help="number of merchants (default: customers/4, at least 40)")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar or table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the config from the arguments, write the stream, print a summary table."""
    console = Console(stderr=True)
    try:
        config = SimConfig(
            seed=args.seed,
            days=args.days,
            customers=args.customers,
            merchants=args.merchants,
            start=args.start,
            fraud_rate=args.fraud_rate,
            bin_attack_cards=args.bin_attack_cards,
        )
    except ValidationError as error:
        for problem in error.errors(include_url=False):
            console.print(f"error: --{'-'.join(map(str, problem['loc']))}: {problem['msg']}")
        return 2
    began = time.perf_counter()
    summary = write_stream(config, args.out, progress=not args.quiet)
    if not args.quiet:
        Console().print(summary_table(summary, args.out, time.perf_counter() - began))
    return 0


def summary_table(summary: SimSummary, path: Path, seconds: float) -> Table:
    """Rows per scenario and the fraud rate, as a rich table."""
    span = f"{summary.first} … {summary.last}"
    table = Table(title="simulated payments", caption=f"{span}\n{path} · {seconds:.1f}s")
    table.add_column("scenario")
    table.add_column("payments", justify="right")
    table.add_column("share", justify="right")
    for scenario, count in summary.by_scenario.items():
        share = count / summary.rows if summary.rows else 0.0
        table.add_row(scenario, f"{count:,}", f"{share:.2%}")
    table.add_section()
    table.add_row("fraud", f"{summary.fraud:,}", f"{summary.fraud_rate:.2%}", style="bold")
    return table
