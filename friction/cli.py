"""The ``friction`` command: one entry point, a subcommand per job.

Each subcommand lives beside the code it drives and registers itself here
(``register(subparsers)``); this module only builds the parser, the settings
and the logging, then dispatches.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from friction import __version__
from friction.errors import MissingExtra
from friction.settings import Settings


def _serve(args: argparse.Namespace) -> int:
    """Run the HTTP service; on embedded defaults it needs no Redis, Kafka or Twilio."""
    from friction.api.access_log import access_log_options
    from friction.api.server import run
    from friction.app import build_app, open_webhooks
    from friction.events.webhooks import CallbackRefused
    from friction.workers import WorkersRefused, check_workers, serve_workers

    settings = load_settings()
    if args.port is not None:
        settings = settings.model_copy(update={"http_port": args.port})
    try:
        check_workers(settings, args.workers)
        open_webhooks(settings)  # every tenant's callback URL checked: refused in one line
    except (WorkersRefused, CallbackRefused) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    where = f"http://{settings.http_host}:{settings.http_port}"
    print(f"friction {__version__} on {where} ({args.workers} worker(s))", flush=True)
    if args.workers > 1:
        return serve_workers(settings, args.workers, args.verbose)
    run(build_app(settings), settings.http_host, settings.http_port, **access_log_options(settings))
    return 0


def _reply(args: argparse.Namespace) -> int:
    """Post a simulated SMS reply to a running service (console channel)."""
    import asyncio

    import aiohttp

    async def post() -> int:
        settings = load_settings()
        url = f"http://{settings.http_host}:{settings.http_port}/v1/dev/sms"
        async with aiohttp.ClientSession() as session:
            body = {"phone": args.phone, "body": args.text}
            async with session.post(url, json=body) as response:
                print(await response.text())
                return 0 if response.status < 400 else 1

    return asyncio.run(post())


def load_settings() -> Settings:
    """Settings from the environment, or a readable exit naming the bad variable."""
    try:
        return Settings()
    except ValidationError as error:
        for problem in error.errors(include_url=False):
            if not problem["loc"]:  # a rule over several variables names them itself
                print(f"error: {problem['msg'].removeprefix('Value error, ')}", file=sys.stderr)
                continue
            name = "FRICTION_" + "_".join(str(p) for p in problem["loc"]).upper()
            print(f"error: {name}: {problem['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand (each with its own --help)."""
    parser = argparse.ArgumentParser(
        prog="friction",
        description="Real-time fraud friction: score payments, ask customers, learn from answers.",
        epilog="Configuration comes from FRICTION_* environment variables (see README).",
    )
    parser.add_argument("--version", action="version", version=f"friction {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the HTTP service", description=_serve.__doc__)
    serve.add_argument("--port", type=int, help="listen port (default FRICTION_HTTP_PORT, 8080)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (SO_REUSEPORT); >1 needs FRICTION_STORE=redis://…",
    )
    serve.set_defaults(func=_serve)

    reply = sub.add_parser(
        "reply",
        help="simulate a customer's SMS reply (console channel)",
        description="Send TEXT as an SMS reply from PHONE to the running console channel.",
    )
    reply.add_argument("phone", help="the customer's number in E.164, e.g. +447700900123")
    reply.add_argument("text", help="the reply, e.g. YES, NO, oui, نعم")
    reply.set_defaults(func=_reply)

    for register in _plugins():
        register(sub)
    return parser


def _plugins() -> list[Callable[[Any], None]]:
    from friction.analytics.cli import register as analytics
    from friction.backtest.cli import register as backtest
    from friction.benchmark.cli import register as benchmark
    from friction.devtools.cli import register as devtools
    from friction.events.cli import register as events
    from friction.report.cli import register as report
    from friction.simulation.cli import register as simulation
    from friction.training.cli import register as training
    from friction.training.loop_cli import register as loop

    return [simulation, training, loop, backtest, events, benchmark, analytics, report, devtools]


def configure_logging(verbose: bool) -> None:
    """Log lines with time, level and logger; DEBUG with ``-v`` (each worker process too)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:  # the Twilio SDK logs every request and response at INFO
        logging.getLogger("twilio").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``friction`` command."""
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args.func(args))
    except MissingExtra as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
