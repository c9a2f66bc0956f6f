"""``friction demo-data``: fill a folder with real events from a short in-process service run."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add the ``demo-data`` subcommand."""
    parser = sub.add_parser(
        "demo-data",
        help="make demo events (decisions, dialogues, labels) by running the real service",
        description=(
            "Start friction in-process, post simulated payments, answer the challenges as the "
            "simulated customers would (in-app and SMS), let some expire and report "
            "chargebacks. The event log lands in OUT/events; notebooks and `friction report "
            "--data OUT` read it. Trains a small model into OUT/models unless --models is given."
        ),
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to fill")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed")
    parser.add_argument("--payments", type=int, default=400, help="payments to post")
    parser.add_argument("--models", type=Path, help="registry whose champion to serve")
    parser.add_argument("--force", action="store_true", help="replace events already in OUT")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from friction.analytics.demo import DemoOptions, make_demo_data  # starts the service stack

    if not args.verbose:  # the in-process service is a means: no access log, no start-up lines
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
        logging.getLogger("friction.app").setLevel(logging.ERROR)
    try:
        summary = make_demo_data(
            args.out, args.seed, payments=args.payments, models_dir=args.models,
            options=DemoOptions(overwrite=args.force),
        )  # fmt: skip
    except FileExistsError:
        print(f"error: {args.out} already holds events: add --force to replace them",
              file=sys.stderr)  # fmt: skip
        return 2
    print(summary.model_dump_json(indent=2))
    return 0
