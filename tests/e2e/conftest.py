"""What the browser tests share: headless Debian Chromium, driven through playwright.

Debian's own ``/usr/bin/chromium`` (``scripts/install-test-servers.sh`` installs it);
playwright's browser downloads are never used. A test that needs it is skipped where
it is not installed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium; the test is skipped where it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: run scripts/install-test-servers.sh")
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=20_000
        )
        try:
            yield launched
        finally:
            await launched.close()
