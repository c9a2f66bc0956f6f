"""What a route is: method, path, handler, who may call it, and what it takes and answers.

The route table itself (``friction.routes``) sits above the API package: it names the
views. The OpenAPI document (``api.openapi``) and the auth middleware read these fields.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel

from friction.api.auth import Access

_ACCESS: dict[str, Access] = {
    "gateway": "api_key",
    "analyst": "api_key",
    "customer": "session",
    "twilio": "open",  # the view checks Twilio's signature
    "ops": "open",
    "dev": "open",  # registered only with FRICTION_DEV_ENDPOINTS, never with API keys
    "page": "open",  # static files; the page itself holds no data, its API calls need a session
}


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    summary: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    tag: str = "gateway"
    query: type[BaseModel] | None = None
    """Model of the query parameters (listed in the OpenAPI document)."""
    access: Access | None = None
    """The credential the route takes; by default the one of its tag."""

    @property
    def auth(self) -> Access:
        return self.access or _ACCESS[self.tag]
