"""``/docs``: the interactive API reference loads in headless Chromium (issue 19, item 6).

Swagger UI comes from the installed ``swagger-ui-py`` distribution and reads
``/openapi.json``: the page must draw every operation of the document, log no error,
fetch nothing from another origin (the CSP forbids it and the test checks the requests)
and let a reader open an operation and see its request body's schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from friction.settings import Settings
from tests.dialogues import StartApp

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]


async def test_the_api_reference_draws_every_operation_from_our_own_files(
    make_settings: Callable[..., Settings],
    start_app: StartApp,
    browser: Browser,
) -> None:
    client = await start_app(make_settings())
    document = await (await client.get("/openapi.json")).json()
    operations = sum(len(methods) for methods in document["paths"].values())
    redirect = await client.get("/docs", allow_redirects=False)
    assert redirect.status == 308 and redirect.headers["Location"] == "/docs/"
    served = await client.get("/docs/")
    assert "script-src 'self'" in served.headers["Content-Security-Policy"]
    assert (await client.get("/docs/not-a-file.js")).status == 404

    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    origins: set[str] = set()
    page.on("request", lambda request: origins.add(urlsplit(request.url).netloc))
    page.set_default_timeout(20_000)
    await page.goto(str(client.make_url("/docs/")))

    await page.locator(".opblock").first.wait_for(state="visible")
    assert await page.locator(".opblock").count() == operations
    assert "OAS 3.1" in await page.locator(".info").inner_text()
    score = page.locator(".opblock", has=page.locator("[data-path='/v1/score']"))
    await score.locator(".opblock-summary").click()
    await score.locator(".model-box, .body-param, .opblock-section-request-body").first.wait_for()
    assert "payment_id" in await score.inner_text()
    assert errors == []
    assert origins == {client.make_url("/").authority}
