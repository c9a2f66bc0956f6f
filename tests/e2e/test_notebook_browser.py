"""A published notebook's figure, rendered to HTML by nbconvert, shows in headless Chromium.

The README's notebook picture (``docs/img/notebook-funnel.png``) is this test's screenshot:
``FRICTION_SCREENSHOTS=docs/img .venv/bin/pytest tests/e2e/test_notebook_browser.py``.
nbconvert's ``basic`` template writes the cells alone (no scripts from elsewhere), so the
page needs no network.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api")
nbconvert = pytest.importorskip("nbconvert")

CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOK = Path(__file__).parents[2] / "docs" / "notebooks" / "02_friction_funnel.ipynb"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(60),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]


def test_the_funnel_figure_of_the_published_notebook_is_visible(tmp_path: Path) -> None:
    body, _ = nbconvert.HTMLExporter(template_name="basic").from_filename(str(NOTEBOOK))
    page_file = tmp_path / "notebook.html"
    page_file.write_text(f'<!doctype html><meta charset="utf-8"><body>{body}</body>', "utf-8")
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        page.goto(page_file.as_uri())
        figure = page.locator("img").first
        figure.scroll_into_view_if_needed()
        assert figure.is_visible()
        width, height = figure.evaluate("i => [i.naturalWidth, i.naturalHeight]")
        assert width > 400 and height > 200, "the PNG decoded"
        target = os.environ.get("FRICTION_SCREENSHOTS")
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            figure.screenshot(path=str(Path(target) / "notebook-funnel.png"))
        browser.close()
