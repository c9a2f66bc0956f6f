"""The access log (``FRICTION_ACCESS_LOG``): one line per request, no card data in it.

aiohttp's default format logs the request line with its query string, the
``Referer`` and the ``User-Agent``: whatever a client puts there (a card number in
a query parameter, a header or a path) would land in the log. This logger writes
method, path (card numbers masked to their last 4), status, size and duration only.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from friction.api.carddata import redact
from friction.settings import Settings


class RedactingAccessLogger(AbstractAccessLogger):
    """Access-log lines without query, headers or card numbers."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %s %d %.1fms",
            request.remote,
            request.method,
            redact(request.path),
            response.status,
            response.body_length,
            time * 1000,
        )


def access_log_options(settings: Settings) -> dict[str, Any]:
    """``web.run_app`` keywords for the access log: this logger, or none when it is off."""
    return {
        "access_log": logging.getLogger("aiohttp.access") if settings.access_log else None,
        "access_log_class": RedactingAccessLogger,
    }
