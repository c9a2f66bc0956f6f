"""``friction report`` renders in headless Chromium with every plot present and visible.

Uses the system Chromium (``/usr/bin/chromium``, installed by
``scripts/install-test-servers.sh``) through the ``playwright`` package; no browser
is ever downloaded. The screenshot goes to tmp, or with ``FRICTION_SCREENSHOTS=docs/img``
to the README's ``docs/img/report.png`` (the page's top: headline figures and first plot).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from friction.analytics.demo import make_demo_data
from friction.cli.report import register

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
PLOTS = ["decisions-per-day", "score-distribution", "precision-recall", "cost-curve", "funnel",
         "answer-times", "drift"]  # fmt: skip
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Path:
    """A report written by the CLI from demo data the real service produced."""
    root = tmp_path_factory.mktemp("report")
    make_demo_data(root / "demo", seed=3, payments=300, models_dir=models_dir)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    out = root / "report.html"
    args = parser.parse_args(["report", "--data", str(root / "demo"), "--out", str(out)])
    assert args.func(args) == 0
    return out


@pytest.fixture(scope="module")
def page(report: Path) -> Iterator[playwright.Page]:
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(report.as_uri())
        yield page
        browser.close()


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    assert text.count('src="data:image/png;base64,') == len(PLOTS)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("anchor", PLOTS)
def test_plot_is_visible(page: playwright.Page, anchor: str) -> None:
    image = page.locator(f"figure#{anchor} img")
    image.scroll_into_view_if_needed()
    assert image.is_visible()
    width, height = image.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert width > 200 and height > 100, "the PNG decoded"
    box = image.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100


@pytest.mark.timeout(60)
def test_screenshot(page: playwright.Page, tmp_path: Path) -> None:
    shot = Path(os.environ.get("FRICTION_SCREENSHOTS") or tmp_path) / "report.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shot), clip={"x": 0, "y": 0, "width": 1280, "height": 900})
    assert shot.stat().st_size > 10_000
    assert page.locator("h1").inner_text() == "friction report"
