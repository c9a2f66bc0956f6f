"""``friction reply``: a customer's SMS reply, simulated, to a service on the console channel.

It posts to ``/v1/dev/sms``, which exists only with ``FRICTION_DEV_ENDPOINTS=true`` (never
with API keys): the same path as a real, signed Twilio webhook after its checks.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import aiohttp


def register(sub: Any) -> None:
    reply = sub.add_parser(
        "reply",
        help="simulate a customer's SMS reply (console channel, development)",
        description="Send TEXT as an SMS reply from PHONE to a running service whose channel "
        "is the console (it needs FRICTION_DEV_ENDPOINTS=true).",
    )
    reply.add_argument("phone", help="the customer's number in E.164, e.g. +447700900123")
    reply.add_argument("text", help="the reply, e.g. YES, NO, oui, نعم")
    reply.add_argument(
        "--url",
        help="the service (default: where `friction serve` listens with the same "
        "FRICTION_HTTP_HOST and FRICTION_HTTP_PORT, http://127.0.0.1:8080 unset)",
    )
    reply.set_defaults(func=_reply)


def _reply(args: argparse.Namespace) -> int:
    return asyncio.run(_post((args.url or _served_at()).rstrip("/"), args.phone, args.text))


def _served_at() -> str:
    """The URL ``friction serve`` listens on with the same environment (a wildcard host is
    reached on the loopback)."""
    from friction.cli.common import load_settings

    settings = load_settings()
    host = settings.http_host
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{'[' + host + ']' if ':' in host else host}:{settings.http_port}"


async def _post(base: str, phone: str, text: str) -> int:
    """Post the reply; one line and exit 1 when the service cannot take it."""
    timeout = aiohttp.ClientTimeout(total=30)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(f"{base}/v1/dev/sms", json={"phone": phone, "body": text}) as response,
        ):
            body = await response.text()
    except (aiohttp.ClientError, TimeoutError) as error:
        print(f"error: no friction service at {base} ({type(error).__name__}); start it with "
              "`FRICTION_DEV_ENDPOINTS=true make run` or pass --url", file=sys.stderr)  # fmt: skip
        return 1
    if response.status == 404:
        print(f"error: {base} has no /v1/dev/sms: start it with FRICTION_DEV_ENDPOINTS=true "
              "(and FRICTION_DEFAULT_CHANNELS=console, the default)", file=sys.stderr)  # fmt: skip
        return 1
    print(body)
    return 0 if response.status < 400 else 1
