"""Gateway authentication and per-tenant rate limits.

Gateways and analysts present ``Authorization: Bearer <api key>``; the key names
the tenant (``FRICTION_API_KEYS``, a JSON object tenant → key). Customers never
hold an API key: their routes are protected by signed answer tokens, Twilio's by
its request signature, and ops endpoints are open. With no keys configured
(the embedded quick start) every request is the single ``default`` tenant.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Collection

from aiohttp import web
from aiohttp.typedefs import Middleware

from friction.api.middleware import Handler, error_response
from friction.settings import Settings
from friction.tenancy import DEFAULT_TENANT

TENANT = web.RequestKey("tenant", str)
AUTHENTICATED_TAGS = frozenset({"gateway", "analyst"})


def tenant_of_request(request: web.Request) -> str:
    """The tenant the request was authenticated as."""
    return str(request.get(TENANT, DEFAULT_TENANT))


def auth_middleware(settings: Settings, guarded: Collection[tuple[str, str]]) -> Middleware:
    """Resolve the tenant from the API key; 401 without one, 429 beyond the tenant's rate.

    ``guarded`` holds the (method, path template) pairs that need a key.
    """
    keys = {
        hashlib.sha256(key.get_secret_value().encode()).digest(): tenant
        for tenant, key in settings.api_keys.items()
    }
    buckets: dict[str, TokenBucket] = {}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        path = resource.canonical if resource is not None else ""
        if not keys or (request.method, path) not in guarded:
            return await handler(request)
        tenant = _tenant(keys, request.headers.get("Authorization", ""))
        if tenant is None:
            return error_response(
                401, "unauthorized", "send Authorization: Bearer <your gateway API key>"
            )
        if settings.tenant_rate_per_second > 0:
            bucket = buckets.setdefault(
                tenant, TokenBucket(settings.tenant_rate_per_second, settings.tenant_burst)
            )
            wait = bucket.take()
            if wait > 0:
                response = error_response(429, "rate_limited", "tenant rate limit; retry later")
                response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
                return response
        request[TENANT] = tenant
        return await handler(request)

    return middleware


def _tenant(keys: dict[bytes, str], header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    digest = hashlib.sha256(token.strip().encode()).digest()
    found = None
    for known, tenant in keys.items():  # constant time per key: no early exit on a match
        if hmac.compare_digest(known, digest):
            found = tenant
    return found


class TokenBucket:
    """``rate`` requests per second on average, ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._capacity = float(max(1, burst))
        self._tokens = self._capacity
        self._at = time.monotonic()

    def take(self) -> float:
        """0 if a request may go now, else the seconds until one may."""
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self._rate
