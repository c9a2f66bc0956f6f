"""The interactive API reference at ``/docs``: Swagger UI over this service's ``/openapi.json``.

Swagger UI comes from a packaged distribution, ``swagger-ui-py`` (its ``static/`` folder
is Swagger UI's own dist build), read from the installed package and never from a CDN: a
payments service runs nobody else's code in its pages. The page and the script that
starts Swagger UI are ours (``static/docs.*``) so that, as for the in-app page, the
Content-Security-Policy can refuse inline script and every other origin.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Final

from aiohttp import web

from friction.api.app_page import PAGE_HEADERS, STATIC_DIR
from friction.errors import NotFound

SWAGGER_UI: Final = files("swagger_ui") / "static"
"""Swagger UI's dist build inside the installed ``swagger-ui-py`` package."""
_OURS: Final = {"docs.html": "text/html", "docs.js": "text/javascript"}
_SWAGGER: Final = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript"}


@cache
def _read(name: str) -> bytes:
    """A packaged file (read once per process): ours, or Swagger UI's."""
    return (STATIC_DIR / name).read_bytes() if name in _OURS else (SWAGGER_UI / name).read_bytes()


def _file(name: str) -> web.Response:
    kind = _OURS.get(name) or _SWAGGER[name]
    response = web.Response(body=_read(name), content_type=kind, charset="utf-8")
    response.headers.update(PAGE_HEADERS)  # the in-app page's CSP holds here too
    return response


async def page(request: web.Request) -> web.Response:
    """GET /docs/ — the API reference, read from ``/openapi.json``."""
    return _file("docs.html")


async def asset(request: web.Request) -> web.Response:
    """GET /docs/{asset} — Swagger UI's script and style sheet, and the script that starts it."""
    name = request.match_info["asset"]
    if name not in {*_OURS, *_SWAGGER} or name == "docs.html":
        raise NotFound(f"no file {name!r} under /docs/; open /docs/")
    return _file(name)


async def redirect(request: web.Request) -> web.Response:
    """GET /docs — to /docs/ (relative asset URLs need the slash)."""
    raise web.HTTPPermanentRedirect("/docs/")
