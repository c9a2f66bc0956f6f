"""How the service is served: aiohttp's server, with malformed requests answered blind.

aiohttp's HTTP parser refuses a malformed request line or header (too long, a bad
character, a bad Content-Length or chunk size) with the offending bytes in its message;
its protocol handler logs that message with a traceback at ERROR on ``aiohttp.server``
and sends it back as the 400 body. Whatever the client put there — a card number in an
overlong URL or header — lands in the log and in the answer. ``GuardedRequestHandler``
answers every such request with a generic JSON 400 and logs one line naming the client
address and the kind of error only (its class, never its bytes). A non-HTTP client on the
first request (a TLS handshake, a scanner) is logged at DEBUG, as aiohttp does. A body that
cannot be decoded is answered 400 where it is read (``api.bodies``).

Every way of running the service goes through ``GuardedAppRunner``: ``friction serve``
and each ``--workers`` process call :func:`run`; tests wrap it in their ``TestServer``.
The port is bound (:func:`bind`) before the app opens anything: a busy port stops
start-up with one line naming it, before a second copy touches the store or the event log.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod
from aiohttp.web_protocol import RequestHandler, RequestPayloadError

from friction.api.middleware import error_response

log = logging.getLogger(__name__)
BACKLOG = 128
"""Pending connections the kernel queues: aiohttp's own default."""
MALFORMED = "malformed HTTP request: check the request line, headers and body framing"


class GuardedRequestHandler(RequestHandler):
    """aiohttp's connection handler, minus the echo of malformed input."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A parser's 4xx: one byte-free log line and a generic body (5xx: aiohttp's own)."""
        if status >= 500:
            return super().handle_error(request, status, exc, message)
        noise = isinstance(exc, BadHttpMethod) and self._request_count == 1
        kind = type(exc).__name__ if exc is not None else "unknown"
        log.log(
            logging.DEBUG if noise else logging.WARNING,
            "malformed HTTP request from %s answered %d: %s",
            request.remote,
            status,
            kind,
        )
        response = error_response(status, "bad_request", MALFORMED)
        response.force_close()
        return response

    def log_exception(self, *args: Any, **kw: Any) -> None:
        """A body that cannot be decoded fails again when aiohttp drains it after the answer
        (``api.middleware.body_middleware`` answered 400 and logged it): no second report, no
        traceback."""
        error = kw.get("exc_info")
        if isinstance(error, RequestPayloadError):
            log.debug("unread rest of an undecodable body dropped: %s", type(error).__name__)
            return
        super().log_exception(*args, **kw)


class GuardedServer(web.Server):
    """aiohttp's low-level server building ``GuardedRequestHandler`` connections."""

    def __call__(self) -> RequestHandler:
        return GuardedRequestHandler(self, loop=self._loop, **self._kwargs)


class GuardedAppRunner(web.AppRunner):
    """``web.AppRunner`` whose server is a ``GuardedServer`` (same app, same options)."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return GuardedServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **server._kwargs,
        )


class ListenRefused(Exception):
    """The service cannot listen on ``host:port``: busy (``in_use``), or a bad address."""

    def __init__(self, host: str, port: int, error: OSError) -> None:
        self.host, self.port = host, port
        self.in_use = error.errno == errno.EADDRINUSE
        super().__init__(
            f"cannot listen on {host}:{port}: "
            + ("the port is already in use" if self.in_use else str(error.strerror))
        )


def bind(host: str, port: int, reuse_port: bool = False) -> list[socket.socket]:
    """Listening sockets on every address of ``host`` (one for 127.0.0.1), or ListenRefused.

    ``reuse_port`` lets ``--workers`` processes share the port; without it, the bind also
    finds a port held by another process that shares it that way.
    """
    sockets: list[socket.socket] = []
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        for family, _, _, _, address in dict.fromkeys(found):
            server = socket.create_server(address, family=family, reuse_port=reuse_port)
            sockets.append(server)
    except OSError as error:
        for sock in sockets:
            sock.close()
        raise ListenRefused(host, port, error) from None
    return sockets


def run(app: web.Application, sockets: list[socket.socket], **options: Any) -> None:
    """Serve ``app`` on ``sockets`` (from :func:`bind`) until SIGINT or SIGTERM, then shut
    down gracefully (``web.run_app``'s job); ``options`` go to the runner (access log)."""
    asyncio.run(_serve(app, sockets, **options))


async def _serve(app: web.Application, sockets: list[socket.socket], **options: Any) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = GuardedAppRunner(app, **options)
    await runner.setup()
    try:
        for sock in sockets:
            await web.SockSite(runner, sock, backlog=BACKLOG).start()
        await stop.wait()
    finally:
        await runner.cleanup()
