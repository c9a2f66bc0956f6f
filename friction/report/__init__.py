"""``friction report``: one self-contained HTML page of the key analytics, for non-notebook users.

- ``html`` — ``build_report(path)`` / ``render_report(events, …)``: tables and matplotlib
  figures embedded as base64 PNG, no external resources (it works offline and as an
  e-mail attachment).
- ``cli`` — ``friction report --data DIR --out report.html``.
"""

from friction.report.html import build_report, render_report

__all__ = ["build_report", "render_report"]
