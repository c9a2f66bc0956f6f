"""The ``friction`` command: one entry point, a subcommand per module of this package.

Each ``friction.cli.<command>`` module registers its own parser (``register(subparsers)``)
and imports what it drives lazily, so ``friction --help`` starts fast; what they share
(settings from the environment, logging) is ``friction.cli.common``. This module only
builds the parser and dispatches. The CLI sits on top of everything: nothing imports it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from friction import __version__
from friction.cli.common import Parser, configure_logging
from friction.errors import FrictionError


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand (each with its own --help, defaults shown)."""
    parser = Parser(
        prog="friction",
        description="Real-time fraud friction: score payments, ask customers, learn from answers.",
        epilog="Configuration comes from FRICTION_* environment variables (see README).",
    )
    parser.add_argument("--version", action="version", version=f"friction {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for register in _plugins():
        register(sub)
    return parser


def _plugins() -> list[Callable[[Any], None]]:
    """Every subcommand module's ``register``, in the order ``--help`` lists them."""
    from friction.cli import (
        backtest,
        benchmark,
        demo_data,
        fake_twilio,
        loop,
        reply,
        report,
        serve,
        simulate,
        sink,
        train,
    )

    modules = [serve, reply, simulate, train, loop, backtest, sink, benchmark, demo_data, report,
               fake_twilio]  # fmt: skip
    return [m.register for m in modules]


PATH_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
               PermissionError)  # fmt: skip
"""What a mistyped or unwritable path raises: a user's mistake, told in one line."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``friction`` command: expected failures end in one line (exit 2),
    with the traceback only under ``-v``."""
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args.func(args))
    except FrictionError as error:  # no model to serve, Redis down, a missing extra, ...
        if args.verbose:
            raise
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    except PATH_ERRORS as error:
        if args.verbose:
            raise
        where = f": {error.filename}" if error.filename else ""
        print(f"error: {error.strerror or error}{where}", file=sys.stderr)
        return 2
