"""Error mapping and request metrics, in one place for every route.

Domain errors become JSON bodies with a code, a sentence saying what to do,
and the fields at fault. A body is never echoed (it could hold card data) and
a stack trace never leaves the process: unexpected errors are logged and
answered with a bare 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from friction.api.schemas import ErrorBody
from friction.errors import FrictionError
from friction.metrics import Metrics

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
            return error_response(error.status, error.code, error.message, error.fields)
        except web.HTTPException as error:
            if error.status < 400:
                raise
            hint = _HTTP_HINTS.get(error.status, error.reason)
            response = error_response(error.status, error.reason.lower().replace(" ", "_"), hint)
            for name in ("Retry-After", "Allow"):
                if name in error.headers:
                    response.headers[name] = error.headers[name]
            return response
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            return error_response(500, "internal", "internal error; it has been logged")

    return middleware


def metrics_middleware(metrics: Metrics) -> Middleware:
    """Observe latency per route template (not per concrete path: bounded label values)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            metrics.request_seconds.labels(route, request.method).observe(
                time.perf_counter() - started
            )

    return middleware
