"""``friction serve``: the HTTP service, on embedded defaults or on Redis + Kafka."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from friction import __version__
from friction.cli.common import listen_hint, load_settings


def register(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run the HTTP service", description=_serve.__doc__)
    serve.add_argument("--port", type=int, help="listen port (default FRICTION_HTTP_PORT, 8080)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (SO_REUSEPORT); >1 needs FRICTION_STORE=redis://…",
    )
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    """Run the HTTP service; on embedded defaults it needs no Redis, Kafka or Twilio."""
    from friction.api.access_log import access_log_options
    from friction.api.server import ListenRefused, bind, run
    from friction.app import build_app, open_webhooks
    from friction.cli.workers import WorkersRefused, check_workers, serve_workers
    from friction.events.webhooks import CallbackRefused

    settings = load_settings()
    if args.port is not None:
        settings = settings.model_copy(update={"http_port": args.port})
    host, port = settings.http_host, settings.http_port
    try:
        check_workers(settings, args.workers)
        open_webhooks(settings)  # every tenant's callback URL checked: refused in one line
        sockets = bind(host, port)  # a busy port: one line, before anything is opened
    except (WorkersRefused, CallbackRefused) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ListenRefused as error:
        print(f"error: {listen_hint(error)}", file=sys.stderr)
        return 2
    where = f"http://{host}:{sockets[0].getsockname()[1]}"
    print(f"friction {__version__} on {where} ({args.workers} worker(s))", flush=True)
    if args.workers > 1:
        for sock in sockets:  # the probe: each worker binds its own, sharing the port
            sock.close()
        return serve_workers(settings, args.workers, args.verbose)
    run(build_app(settings), sockets, **access_log_options(settings))
    return 0
