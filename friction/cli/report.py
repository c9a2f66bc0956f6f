"""``friction report``: write the HTML analytics report from an event log or sink dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from friction.analytics.sources import SourceNotFound


def register(sub: Any) -> None:
    """Add the ``report`` subcommand."""
    parser = sub.add_parser(
        "report",
        help="write a self-contained HTML report of the key analytics",
        description=(
            "Read decisions, dialogues and labels (a data dir, an event-log dir or the label "
            "sink's JSON-lines/Parquet dataset) and write one HTML page with the key plots "
            "and tables, images embedded. Make data to try it with `friction demo-data`."
        ),
    )
    parser.add_argument("--data", type=Path, default=Path("var"),
                        help="data dir, event-log dir or sink dataset")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("report.html"),
                        help="HTML file to write")  # fmt: skip
    parser.add_argument("--title", default="friction report", help="page title")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from friction.analytics.report_html import build_report

    try:
        path = build_report(args.data, args.out, title=args.title)
    except SourceNotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"report written to {path}")
    return 0
