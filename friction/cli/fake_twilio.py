"""``friction fake-twilio``: run the local fake Twilio from the command line."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from aiohttp import web

from friction.devtools.fake_twilio import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_PHONE_NUMBER,
    FakeConfig,
    FakeTwilio,
    build_fake_twilio_app,
)

__all__ = ["register"]

_DESCRIPTION = """\
Serve a local fake of Twilio's SMS API, so friction's SMS channel can be developed and
demonstrated without a Twilio account or the internet. It accepts messages on
POST /2010-04-01/Accounts/{sid}/Messages.json (basic auth), answers like Twilio, then
posts signed status callbacks (sent, delivered; or failed for --fail-number).
Inject a customer's reply with:
  curl -X POST http://127.0.0.1:8099/_fake/inbound \\
       -d '{"from": "+447700900123", "body": "YES"}'
and read the transcript at GET /_fake/messages."""

_EPILOG = """\
Point the service at it (same credentials on both sides):
  FRICTION_TWILIO_API_BASE=http://127.0.0.1:8099
  FRICTION_TWILIO_ACCOUNT_SID=%(sid)s
  FRICTION_TWILIO_AUTH_TOKEN=%(token)s
  FRICTION_TWILIO_FROM_NUMBER=%(number)s
Fault modes at run time: POST /_fake/config {"fail_status": 500} | {"hang_seconds": 30}
| {"fail_numbers": ["+447700900123"]}; POST /_fake/reset clears them."""


def _run(args: argparse.Namespace) -> int:
    """Serve the fake until interrupted (Ctrl-C); a busy port is one line (exit 2)."""
    from friction.api.server import ListenRefused, bind

    try:
        sockets = bind(args.host, args.port)
    except ListenRefused as error:
        print(f"error: {error}: choose another with --port", file=sys.stderr)
        return 2
    fake = FakeTwilio(
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        phone_number=args.phone_number,
        config=FakeConfig(webhook_url=args.webhook_url, fail_numbers=args.fail_number),
    )
    logging.getLogger(__name__).info(
        "fake Twilio on http://%s:%d, webhooks to %s",
        args.host,
        args.port,
        args.webhook_url or "(none yet)",
    )
    access = logging.getLogger("aiohttp.access") if args.verbose else None  # -v: each request
    web.run_app(build_fake_twilio_app(fake), sock=sockets, print=None, access_log=access)
    return 0


def register(subparsers: Any) -> None:
    """Add ``fake-twilio`` to the ``friction`` command's subcommands."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "fake-twilio",
        help="run a local fake of Twilio's SMS API (development, demos, tests)",
        description=_DESCRIPTION,
        epilog=_EPILOG
        % {"sid": DEFAULT_ACCOUNT_SID, "token": DEFAULT_AUTH_TOKEN, "number": DEFAULT_PHONE_NUMBER},
    )
    _add_arguments(parser)
    parser.set_defaults(func=_run)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``fake-twilio``; defaults match the env snippet in the epilog."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind")
    parser.add_argument("--port", type=int, default=8099, help="port to listen on")
    parser.add_argument(
        "--webhook-url",
        metavar="URL",
        help="base URL of the friction service, e.g. http://127.0.0.1:8080; inbound SMS are "
        "posted to URL/webhooks/twilio/sms",
    )
    parser.add_argument(
        "--account-sid",
        default=DEFAULT_ACCOUNT_SID,
        help="account SID to accept",
    )
    parser.add_argument(
        "--auth-token",
        default=DEFAULT_AUTH_TOKEN,
        help="auth token to check and to sign webhooks with",
    )
    parser.add_argument(
        "--phone-number",
        default=DEFAULT_PHONE_NUMBER,
        help="the fake's own number, the 'To' of inbound SMS",
    )
    parser.add_argument(
        "--fail-number",
        action="append",
        default=[],
        metavar="E164",
        help="report messages to this number as failed (repeatable)",
    )
