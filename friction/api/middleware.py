"""Error mapping, request metrics and admission control, in one place for every route.

Domain errors become JSON bodies with a code, a sentence saying what to do,
and the fields at fault. A body is never echoed (it could hold card data) and
a stack trace never leaves the process: unexpected errors are logged and
answered with a bare 500.

Admission control bounds the requests one process works on at once. Past the
bound a request is answered ``429`` with ``Retry-After`` at once: an overloaded
service that queues turns every request into a time-out, one that sheds keeps
the accepted ones on their latency budget and tells the gateway when to come
back. Ops endpoints and waiting requests (SSE streams, long-polls) are exempt:
they cost no CPU, and a probe must see an overloaded process as alive.

Slow clients come before admission (issue 15.3): a slot is taken only once the
whole body is in, and the body must arrive within a time-out, so sockets that
send headers and then dribble (slowloris) hold no slot; and on routes without an
API key (customers, Twilio) one client address may have only so many requests in
progress, so it cannot take the slots every tenant shares. Its 429s come after a random
wait of up to twice ``Retry-After``: a slowloris reconnects in step, and answering a
burst of hundreds at once stalls the event loop every tenant shares (a tenant's p99 9x
its unloaded value beside 300 slow sockets, 1.2-2.4x with the wait; issue 15.3).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware

from friction.api.carddata import card_data_fields, redact
from friction.api.schemas import ErrorBody
from friction.errors import CardDataRejected, FrictionError
from friction.metrics import Metrics

MAX_HELD = 1024  # over-limit requests waiting for their 429 at once; beyond, answered at once
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"})

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_HINTS = {
    404: "no such route; see /openapi.json for the API",
    405: "method not allowed on this route; see /openapi.json",
    413: "request body too large",
    415: "send Content-Type: application/json",
}


def error_response(
    status: int, code: str, message: str, fields: list[str] | None = None
) -> web.Response:
    """A JSON error body in the one shape every endpoint uses."""
    body = ErrorBody(error=code, message=message, fields=fields or [])
    return web.Response(status=status, text=body.model_dump_json(), content_type="application/json")


def errors_middleware() -> Middleware:
    """Map FrictionError and aiohttp's HTTP errors to JSON; hide internals on 5xx."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except FrictionError as error:
            answer = error_response(error.status, error.code, error.message, error.fields)
            if error.retry_after_s is not None:
                answer.headers["Retry-After"] = str(error.retry_after_s)
            return answer
        except web.HTTPException as error:
            if error.status < 400:
                raise
            return _http_error_response(error)
        except Exception:
            log.exception("unhandled error on %s %s", request.method, redact(request.path))
            return error_response(500, "internal", "internal error; it has been logged")

    return middleware


def _http_error_response(error: web.HTTPException) -> web.Response:
    """One of aiohttp's HTTP errors (404, 405, 413, ...) in the JSON error shape."""
    hint = _HTTP_HINTS.get(error.status, error.reason)
    response = error_response(error.status, error.reason.lower().replace(" ", "_"), hint)
    for name in ("Retry-After", "Allow"):
        if name in error.headers:
            response.headers[name] = error.headers[name]
    return response


def card_data_middleware() -> Middleware:
    """422 for a card number in a path parameter or the query, before any handler sees it.

    Bodies are guarded where they are parsed (``api.bodies``); ids in the path reach
    the store (a customer's preferences are keyed by it) and error messages, and the
    query reaches logs. ``/v1/score`` carries neither, so its cost there is nil.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info or request.query_string:
            fields = card_data_fields(dict(request.match_info)) + [
                f"query.{name}" for name in card_data_fields(dict(request.query))
            ]
            if fields:
                raise CardDataRejected(
                    "card data is not accepted in the URL: no card number, CVV or track data",
                    fields=fields,
                )
        return await handler(request)

    return middleware


def metrics_middleware(metrics: Metrics) -> Middleware:
    """Observe latency per route template (not per concrete path: bounded label values)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            route = route_template(request) or "unmatched"
            metrics.request_seconds.labels(route, request.method).observe(
                time.perf_counter() - started
            )

    return middleware


def client_limit_middleware(
    per_client: int, guarded: Collection[tuple[str, str]], retry_after_s: int, metrics: Metrics
) -> Middleware:
    """429 at once, before the body is read, for a client address that already has
    ``per_client`` requests in progress on a route outside ``guarded`` (the (method, path
    template) pairs that need an API key), after a random wait (see the module's doc).
    Exempt requests (ops, SSE, long-polls) pass."""
    busy: dict[str, int] = {}
    held = 0

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal held
        if _exempt(request) or (request.method, route_template(request)) in guarded:
            return await handler(request)
        address = request.remote or ""
        if busy.get(address, 0) >= per_client:
            metrics.client_errors.labels("per_client_limit").inc()
            message = f"too many requests in progress from this address; retry in {retry_after_s} s"
            if held < MAX_HELD:
                held += 1
                try:
                    await asyncio.sleep(random.uniform(0, 2 * retry_after_s))
                finally:
                    held -= 1
            return _too_many(message, retry_after_s)
        busy[address] = busy.get(address, 0) + 1
        try:
            return await handler(request)
        finally:
            if busy[address] == 1:
                del busy[address]  # the table holds only addresses with requests in progress
            else:
                busy[address] -= 1

    return middleware


def body_middleware(timeout_s: float, metrics: Metrics) -> Middleware:
    """Read the whole body within ``timeout_s`` before anything else works on the request.

    A body that does not arrive in time is a 408 and one warning (the connection is
    closed); a client that goes away mid-body, or sends a broken one, is a client error
    in one log line, never a 500 with a traceback. Handlers read the body kept here.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists:
            return await handler(request)
        route = f"{request.method} {route_template(request) or 'unmatched'}"
        try:
            async with asyncio.timeout(timeout_s):
                await request.read()
        except TimeoutError:
            metrics.client_errors.labels("slow_body").inc()
            log.warning("%s: body not received within %g s; answered 408", route, timeout_s)
            response = error_response(
                408, "request_timeout", f"the request body did not arrive within {timeout_s:g} s"
            )
            response.force_close()
            return response
        except ConnectionError:
            metrics.client_errors.labels("aborted_body").inc()
            log.info("%s: client went away mid-body (400); nothing done", route)
            return error_response(400, "aborted_body", "the connection closed mid-body")
        except (web.RequestPayloadError, HttpProcessingError) as error:  # broken encoding/framing
            metrics.client_errors.labels("unreadable_body").inc()
            kind = type(error.__cause__ or error).__name__  # its message may quote the bytes
            log.warning("%s: unreadable body from %s answered 400: %s", route, request.remote, kind)
            return error_response(400, "unreadable_body", "the request body could not be decoded")
        except web.HTTPException as error:  # 413: larger than max_body_bytes
            return _http_error_response(error)
        return await handler(request)

    return middleware


def admission_middleware(max_inflight: int, retry_after_s: int, metrics: Metrics) -> Middleware:
    """Answer 429 at once when ``max_inflight`` requests are already being worked on."""
    inflight = peak = 0
    metrics.inflight.set_function(lambda: inflight)  # read when scraped: free on the hot path
    metrics.inflight_peak.set_function(lambda: peak)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal inflight, peak
        if _exempt(request):
            return await handler(request)
        if inflight >= max_inflight:
            metrics.shed.inc()
            message = f"too many requests in flight; retry in {retry_after_s} s"
            return _too_many(message, retry_after_s)
        inflight += 1
        peak = max(peak, inflight)
        try:
            return await handler(request)
        finally:
            inflight -= 1

    return middleware


def _too_many(message: str, retry_after_s: int) -> web.Response:
    response = error_response(429, "overloaded", message)
    response.headers["Retry-After"] = str(retry_after_s)
    return response


def route_template(request: web.Request) -> str | None:
    """The matched route's path template (``/v1/payments/{payment_id}``), if any."""
    resource = request.match_info.route.resource
    return None if resource is None else resource.canonical


def _exempt(request: web.Request) -> bool:
    """Ops endpoints, SSE streams and long-polls: cheap, or waiting rather than working."""
    if request.path in OPS_PATHS:
        return True
    if "text/event-stream" in request.headers.get("Accept", ""):
        return True
    return request.method == "GET" and request.query.get("wait", "0") not in ("", "0")
