"""Regenerate the README pictures of the in-app page: docs/img/in-app-{en,ar}.png.

Runs the browser test (headless Debian Chromium through playwright) with
``FRICTION_SCREENSHOTS`` set, so the pictures show exactly what the test checks:
the English and the Arabic (right-to-left) prompt, on a phone-sized page.

    .venv/bin/python scripts/screenshots.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/e2e/test_in_app_browser.py"


def main() -> int:
    """Run the English and Arabic browser tests, saving their screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="folder for PNGs")
    args = parser.parse_args()
    env = {**os.environ, "FRICTION_SCREENSHOTS": str(args.out.resolve())}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST]
    command += ["-k", "english or arabic"]
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)
    if result.returncode == 0:
        print(f"screenshots in {args.out}: in-app-en.png, in-app-ar.png")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
