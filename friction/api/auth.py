"""Who is calling: a tenant's API key, a customer's session, or nobody; per-tenant rate limits.

Gateways and analysts present ``Authorization: Bearer <api key>``; the key names the
tenant (``FRICTION_API_KEYS``). Customers' apps present ``Authorization: Bearer
<session token>`` (``friction.service.sessions``), which names one tenant and one customer.
Each route says which of the two it takes (``routes.Route.auth``); Twilio's webhooks
are checked by their signature in the view, ops endpoints and the in-app page's
static files are open. With no API keys configured (the embedded quick start) every
request is the ``default`` tenant and customer routes take a session only if one is
shown: development only, and ``friction serve`` says so at start-up.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

from aiohttp import web
from aiohttp.typedefs import Middleware

from friction.api.keys import STORE
from friction.api.middleware import Handler, error_response
from friction.domain.records import CustomerSession
from friction.domain.tenancy import DEFAULT_TENANT, scoped, tenant_of
from friction.errors import Forbidden, Unauthorized
from friction.service.sessions import find_session, is_session_token
from friction.settings import Settings

Access = Literal["api_key", "session", "either", "open"]
"""Which credential a route takes: a tenant's API key, a customer's session, either, none."""
TENANT = web.RequestKey("tenant", str)
SESSION = web.RequestKey("session", CustomerSession)
SESSION_TOKEN = web.RequestKey("session_token", str)


def tenant_of_request(request: web.Request) -> str:
    """The tenant the request was authenticated as."""
    return str(request.get(TENANT, DEFAULT_TENANT))


def session_of_request(request: web.Request) -> CustomerSession | None:
    """The customer session the request carried, if any."""
    return request.get(SESSION)


def customer_of_request(request: web.Request, customer_id: str) -> str:
    """The core's id of path customer ``customer_id``, if the caller may act for them.

    A session acts only for its own customer (403 otherwise, saying nothing of the other);
    an API key for any customer of its tenant.
    """
    key = scoped(tenant_of_request(request), customer_id)
    session = session_of_request(request)
    if session is not None and session.customer_id != key:
        raise Forbidden("this session belongs to another customer")
    return key


def auth_middleware(settings: Settings, routes: Mapping[tuple[str, str], Access]) -> Middleware:
    """Resolve the caller from the route's credential; 401 without one, 429 past the rate.

    ``routes`` maps (method, path template) to what the route takes (absent: open).
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
        access = routes.get((request.method, path), "open")
        if access == "open":
            return await handler(request)
        token = _bearer(request.headers.get("Authorization", ""))
        if access != "session" and keys and (tenant := _tenant(keys, token)) is not None:
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
        if access != "api_key" and is_session_token(token):
            session = await find_session(request.app[STORE], token, datetime.now(UTC))
            if session is None:
                raise Unauthorized("the customer session is unknown or expired; ask for a new one")
            request[TENANT] = tenant_of(session.customer_id)
            request[SESSION] = session
            request[SESSION_TOKEN] = token
            return await handler(request)
        if not keys:  # open development mode: the default tenant, no customer binding
            return await handler(request)
        raise Unauthorized(_WHAT[access])

    return middleware


_WHAT: dict[Access, str] = {
    "api_key": "send Authorization: Bearer <your gateway API key>",
    "session": "send Authorization: Bearer <customer session token> "
    "(POST /v1/customers/{id}/sessions with the tenant's API key makes one)",
    "either": "send Authorization: Bearer <gateway API key or customer session token>",
    "open": "",
}


def _bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _tenant(keys: dict[bytes, str], token: str) -> str | None:
    if not token:
        return None
    digest = hashlib.sha256(token.encode()).digest()
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
