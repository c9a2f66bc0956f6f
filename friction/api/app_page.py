"""The in-app reference page: a small web app that shows a customer's prompts.

It is what a bank's mobile app does, written as plain HTML, CSS and JavaScript
served by the service itself (``/app/?customer=<id>``), so that integrators have
a working example and the end-to-end browser test has something real to drive.
The files are packaged next to this module and read once; nothing is fetched
from elsewhere, and the Content-Security-Policy says so to the browser too: a
page that asks people to approve payments must not run anybody else's code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final

from aiohttp import web

from friction.errors import NotFound

STATIC_DIR: Final = Path(__file__).with_name("static")
_TYPES: Final = {
    "app.html": "text/html",
    "app.js": "text/javascript",
    "app.css": "text/css",
}
PAGE_HEADERS: Final = {
    # Only our own files and our own API: no CDN, no inline script, no framing.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Short cache: a new release should reach phones soon, the page is tiny anyway.
    "Cache-Control": "no-cache",
}


@cache
def _read(name: str) -> bytes:
    """A packaged static file (read once per process)."""
    return (STATIC_DIR / name).read_bytes()


def _file(name: str) -> web.Response:
    response = web.Response(body=_read(name), content_type=_TYPES[name], charset="utf-8")
    response.headers.update(PAGE_HEADERS)
    return response


async def page(request: web.Request) -> web.Response:
    """GET /app/ — the page; ``?customer=<id>`` says whose prompts to show."""
    return _file("app.html")


async def asset(request: web.Request) -> web.Response:
    """GET /app/{asset} — the page's script and style sheet."""
    name = request.match_info["asset"]
    if name not in _TYPES or name == "app.html":
        raise NotFound(f"no file {name!r} under /app/; open /app/?customer=<id>")
    return _file(name)


async def redirect(request: web.Request) -> web.Response:
    """GET /app — to /app/, keeping the query (relative asset URLs need the slash)."""
    query = f"?{request.query_string}" if request.query_string else ""
    raise web.HTTPPermanentRedirect(f"/app/{query}")
