"""The in-app page as files: served by the service, self-contained, locked down by CSP."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Client

pytestmark = pytest.mark.timeout(60)


async def test_page_is_served_self_contained_and_phone_sized(client: Client) -> None:
    response = await client.get("/app/", params={"customer": "cus_42"})
    assert response.status == 200 and response.content_type == "text/html"
    html = await response.text()
    assert 'name="viewport"' in html and 'src="app.js"' in html and 'href="app.css"' in html
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
        asset = await client.get(f"/app/{name}")
        assert asset.status == 200 and asset.content_type == kind
        text = await asset.text()
        assert not re.search(r"https?://", text)  # no CDN, no network but this service
    assert "max-width: 420px" in await (await client.get("/app/app.css")).text()


async def test_unknown_files_and_the_bare_path(client: Client) -> None:
    assert (await client.get("/app/app.html")).status == 404  # only via /app/
    assert (await client.get("/app/secrets.txt")).status == 404
    moved = await client.get("/app", params={"customer": "cus_42"}, allow_redirects=False)
    assert moved.status == 308 and moved.headers["Location"] == "/app/?customer=cus_42"
