"""The HTML report: key plots and tables of ``friction.analytics`` on one page.

Self-contained by design — figures are base64 PNG ``<img>`` tags, styles are inline,
nothing is fetched — so the file can be mailed, archived or opened offline, and a
browser test can check it without a server. Every figure sits in a
``<figure class="plot" id="…">`` so tests and readers can find it.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from friction.analytics import plots
from friction.analytics.drift import drift_table, weekly_windows
from friction.analytics.frames import EventFrames, load_events
from friction.analytics.funnel import funnel, time_to_answer
from friction.analytics.join import payments_frame
from friction.analytics.measures import (
    blocked_breakdown,
    card_precision_at_k,
    cost_curve,
    false_declines,
    label_coverage,
    ranking_metrics,
    threshold_table,
)

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem} .meta{color:#666;margin-top:0}
section{margin:2rem 0;border-top:1px solid #ddd;padding-top:.5rem}
figure.plot{margin:1rem 0} figure.plot img{max-width:100%;height:auto;display:block}
figcaption{color:#555;font-size:.9rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right} th{background:#f4f4f4}
.kpis td:first-child,.kpis th{text-align:left}
"""
REPORT_THRESHOLDS = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9)


def build_report(data: Path | str, out: Path | str, title: str = "friction report") -> Path:
    """Load events at ``data`` (any source ``load_events`` accepts) and write the report."""
    page = render_report(load_events(data), title=title, source=str(data))
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target


def render_report(events: EventFrames, title: str = "friction report", source: str = "") -> str:
    """The report page for ``events`` as one HTML string."""
    payments = payments_frame(events)
    sections = [
        _overview(payments),
        _model(payments),
        _policy(payments),
        _funnel(payments),
        _drift(payments),
    ]
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = f"{len(payments)} payments from {html.escape(source)} · generated {generated}"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="meta">{meta}</p>'
        + "".join(sections)
        + "</body></html>"
    )


def overview(payments: pd.DataFrame) -> dict[str, str]:
    """The headline figures, each over all payments in the period and saying its counts, so
    figures side by side describe the same population: "blocked" is every payment whose
    verdict is blocked (declined by the model, denied, unanswered), the population of the
    false-decline rate beside it."""
    metrics = ranking_metrics(payments)
    declines = false_declines(payments)
    total = len(payments)
    times = payments["occurred_at"]
    challenged = int((payments["decision"] == "challenge").sum())
    declined = int((payments["decision"] == "decline").sum())
    labelled = int(payments["is_fraud"].notna().sum())
    blocked, wrong = int(declines["blocked"]), int(declines["blocked_genuine"])
    return {
        "period": f"{times.min():%Y-%m-%d} – {times.max():%Y-%m-%d}" if total else "–",
        "payments": f"{total}",
        "challenged": _share(challenged, total),
        "declined by the model": _share(declined, total),
        "blocked in the end (declined, denied or unanswered)": _share(blocked, total),
        "false-decline rate (genuine among blocked)": _share(wrong, blocked),
        "frauds labelled": f"{int(payments['is_fraud'].fillna(False).sum())}",
        "label coverage": _share(labelled, total),
        "AUC / AP": f"{metrics['auc']:.3f} / {metrics['ap']:.3f}",
    }


def _share(part: int, whole: int) -> str:
    """``12.5 % (2 of 16)``: a rate always with the counts it was made of."""
    return f"{part / whole:.1%} ({part} of {whole})" if whole else "– (0 of 0)"


def _overview(payments: pd.DataFrame) -> str:
    kpis = overview(payments)
    rows = "".join(f"<tr><th>{k}</th><td>{html.escape(v)}</td></tr>" for k, v in kpis.items())
    body = f'<table class="kpis">{rows}</table>'
    body += "<h3>How payments were blocked (unlabelled ones counted as genuine)</h3>"
    body += _table(blocked_breakdown(payments).reset_index())
    body += _figure("decisions-per-day", plots.decisions_per_day, payments, "Decisions per day.")
    return _section("overview", "Overview", body)


def _model(payments: pd.DataFrame) -> str:
    table = threshold_table(payments)
    body = _figure(
        "score-distribution",
        plots.score_histogram,
        payments,
        "Scores of genuine and fraud payments (unlabelled counted as genuine).",
    )
    body += _figure(
        "precision-recall",
        plots.precision_recall,
        table,
        "Precision, recall and share of genuine payments flagged per threshold.",
    )
    daily = card_precision_at_k(payments, k=5)
    body += "<h3>Card precision@5 per day</h3>" + _table(daily.reset_index().tail(14))
    return _section("model", "Model performance", body)


def _policy(payments: pd.DataFrame) -> str:
    curve = cost_curve(payments, thresholds=[i / 40 for i in range(41)])
    chosen = curve[curve["threshold"].round(3).isin(REPORT_THRESHOLDS)]
    body = _figure(
        "cost-curve",
        plots.cost_curve,
        curve,
        "Fraud stopped against good customers challenged (cost of 1 per challenge).",
    )
    body += _table(
        chosen[
            ["threshold", "flagged", "precision", "recall", "fraud_stopped", "friction_cost", "net"]
        ]
    )
    body += "<h3>Label coverage by decision</h3>" + _table(label_coverage(payments).reset_index())
    return _section("policy", "Thresholds and cost", body)


def _funnel(payments: pd.DataFrame) -> str:
    if payments["dialogue_id"].notna().sum() == 0:
        return _section("funnel", "Friction funnel", "<p>No dialogues in this period.</p>")
    body = _figure("funnel", plots.funnel_chart, payments, "Dialogue stages and outcomes.")
    body += _table(funnel(payments).reset_index())
    body += _figure("answer-times", plots.answer_times, payments, "Seconds to answer.")
    body += _table(time_to_answer(payments).reset_index())
    return _section("funnel", "Friction funnel by channel and language", body)


def _drift(payments: pd.DataFrame) -> str:
    windows = weekly_windows(payments)
    if len(windows) < 2:
        return _section("drift", "Drift", "<p>Less than two weeks of data.</p>")
    first, last = windows[-2], windows[-1]  # this week against the one before
    table = drift_table(payments, first, last)
    caption = (
        f"PSI, week of {last[0]:%Y-%m-%d} against week of {first[0]:%Y-%m-%d}; black ticks: "
        "sampling noise (99th percentile), red bars: drift beyond it."
    )
    body = _figure("drift", plots.drift_bars, table, caption)
    body += _table(table.head(10))
    return _section("drift", "Drift between weeks", body)


def _figure(anchor: str, draw: Callable[[pd.DataFrame], Figure], data: pd.DataFrame,
            caption: str) -> str:  # fmt: skip
    buffer = io.BytesIO()
    draw(data).savefig(buffer, format="png", dpi=96)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    alt = html.escape(caption)
    return (
        f'<figure class="plot" id="{anchor}"><img alt="{alt}" '
        f'src="data:image/png;base64,{encoded}"><figcaption>{alt}</figcaption></figure>'
    )


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.3g}", na_rep="–", border=0)


def _section(anchor: str, heading: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{html.escape(heading)}</h2>{body}</section>'
