"""Matplotlib figures shared by the notebooks and the HTML report.

Each function builds a standalone ``matplotlib.figure.Figure`` (no pyplot state),
so the report can render figures headless and concurrently, and a notebook shows
a figure by leaving it as the cell's last expression.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from friction.analytics.funnel import ENDINGS, STAGES, funnel
from friction.analytics.measures import Unlabelled, truth

FRAUD, GENUINE, ACCENT = "#c0392b", "#2e86c1", "#7d3c98"


def _figure(width: float = 7.0, height: float = 3.6, cols: int = 1) -> tuple[Figure, list[Axes]]:
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, list(np.atleast_1d(figure.subplots(1, cols)))


def score_histogram(payments: pd.DataFrame, unlabelled: Unlabelled = "genuine") -> Figure:
    """Score distribution of genuine and fraud payments (log counts: fraud is rare)."""
    rows = truth(payments, unlabelled)
    figure, (ax,) = _figure()
    edges = np.linspace(0, 1, 26).tolist()
    ax.hist(rows.loc[~rows["fraud"], "score"], edges, color=GENUINE, alpha=0.7, label="genuine")
    ax.hist(rows.loc[rows["fraud"], "score"], edges, color=FRAUD, alpha=0.7, label="fraud")
    ax.set(yscale="log", xlabel="score", ylabel="payments", title="Score distribution")
    ax.legend()
    return figure


def precision_recall(table: pd.DataFrame) -> Figure:
    """Precision, recall and good-customer friction against the threshold."""
    figure, (ax,) = _figure()
    ax.plot(table["threshold"], table["precision"], label="precision", color=ACCENT)
    ax.plot(table["threshold"], table["recall"], label="recall", color=FRAUD)
    ax.plot(
        table["threshold"],
        table["genuine_flagged_rate"],
        label="genuine flagged",
        color=GENUINE,
        linestyle="--",
    )
    ax.set(xlabel="threshold (score ≥)", ylim=(0, 1.02), title="Precision / recall by threshold")
    ax.legend()
    return figure


def cost_curve(table: pd.DataFrame, marks: tuple[float, ...] = (0.1, 0.3, 0.5, 0.9)) -> Figure:
    """Fraud stopped vs good customers challenged, and the net value per threshold."""
    figure, (left, right) = _figure(10, 3.8, cols=2)
    left.plot(table["genuine_flagged_rate"], table["fraud_amount_caught"], color=ACCENT, marker=".")
    for _, row in table[table["threshold"].round(3).isin(marks)].iterrows():
        left.annotate(
            f"{row['threshold']:.2f}",
            (row["genuine_flagged_rate"], row["fraud_amount_caught"]),
            textcoords="offset points",
            xytext=(4, -10),
        )
    left.set(
        xlabel="share of genuine payments challenged",
        ylabel="share of fraud amount stopped",
        title="Cost curve",
    )
    left.xaxis.set_major_formatter("{x:.0%}")
    left.yaxis.set_major_formatter("{x:.0%}")
    right.plot(table["threshold"], table["net"], color=FRAUD)
    best = table.iloc[int(np.argmax(table["net"].to_numpy()))]
    right.axvline(best["threshold"], color="grey", linestyle=":")
    right.set(
        xlabel="threshold",
        ylabel="fraud stopped − friction cost",
        title=f"Net value (best at {best['threshold']:.2f})",
    )
    return figure


def funnel_chart(payments: pd.DataFrame, by: str = "language") -> Figure:
    """Dialogue stages (left) and how dialogues ended per ``by`` group (right)."""
    table = funnel(payments, by=[by])
    figure, (left, right) = _figure(10, 3.8, cols=2)
    totals = table[list(STAGES)].sum()
    left.barh(list(STAGES)[::-1], totals.to_numpy()[::-1], color=ACCENT)
    left.set(xlabel="dialogues", title="Friction funnel")
    shares = table[list(ENDINGS)].div(table["challenged"].where(table["challenged"] > 0), axis=0)
    bottom = np.zeros(len(shares))
    colours = ["#27ae60", FRAUD, "#8e44ad", "#f39c12", "#95a5a6", "#34495e", "#000000", "#d5d8dc"]
    for ending, colour in zip(ENDINGS, colours, strict=True):
        values = shares[ending].fillna(0).to_numpy()
        right.bar(shares.index.astype(str), values, bottom=bottom, label=ending, color=colour)
        bottom += values
    right.set(ylabel="share of dialogues", title=f"Outcome by {by}", ylim=(0, 1))
    right.legend(fontsize="small", loc="center left", bbox_to_anchor=(1, 0.5))
    return figure


def answer_times(payments: pd.DataFrame, by: str = "language") -> Figure:
    """Distribution of seconds from challenge to answer, per ``by`` group."""
    rows = payments[payments["time_to_answer_s"].notna()]
    groups = rows.groupby(rows[by].astype("string").fillna("unknown"))["time_to_answer_s"]
    figure, (ax,) = _figure()
    names = [str(name) for name, _ in groups]
    if names:
        ax.boxplot([g.to_numpy(dtype=float) for _, g in groups], tick_labels=names)
    ax.set(ylabel="seconds to answer", xlabel=by, title="Time to answer")
    return figure


def drift_bars(table: pd.DataFrame, top: int = 15) -> Figure:
    """PSI of the most drifted columns, with the 0.1 (watch) and 0.25 (investigate) lines and,
    per column, the sampling noise (black tick) a value must pass to count as drift."""
    rows = table.dropna(subset=["psi"]).head(top).iloc[::-1]
    figure, (ax,) = _figure(7, max(2.5, 0.28 * len(rows) + 1))
    drifted = rows["level"].isin(["watch", "investigate"]) if "level" in rows else True
    ax.barh(rows["column"], rows["psi"], color=np.where(drifted, FRAUD, ACCENT))
    if "noise" in rows:
        ax.scatter(rows["noise"], rows["column"], marker="|", s=200, color="black", zorder=3)
    for line, colour in ((0.1, "#f39c12"), (0.25, FRAUD)):
        ax.axvline(line, color=colour, linestyle="--")
    ax.set(xlabel="population stability index", title="Drift (PSI)")
    return figure


def contribution_bars(table: pd.DataFrame, top: int = 10) -> Figure:
    """Features pushing one score up (red) or down (blue), in log-odds."""
    rows = table[table["feature"] != "bias"].head(top).iloc[::-1]
    figure, (ax,) = _figure(7, max(2.5, 0.3 * len(rows) + 1))
    colours = [FRAUD if c > 0 else GENUINE for c in rows["contribution"]]
    ax.barh(rows["feature"], rows["contribution"], color=colours)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set(xlabel="contribution (log-odds)", title="Why this score")
    return figure


def decisions_per_day(payments: pd.DataFrame) -> Figure:
    """Payments per day, stacked by decision."""
    table = pd.crosstab(payments["day"].dt.date, payments["decision"], dropna=False)
    figure, (ax,) = _figure()
    bottom = np.zeros(len(table))
    for decision in table.columns:
        ax.bar(table.index.astype(str), table[decision], bottom=bottom, label=str(decision))
        bottom += table[decision].to_numpy()
    ax.tick_params(axis="x", labelrotation=60, labelsize="small")
    ax.set(ylabel="payments", title="Decisions per day")
    ax.legend(fontsize="small")
    return figure


def learning_curves(days: pd.DataFrame) -> Figure:
    """``friction loop``: each arm's daily AP and share of fraud value stopped, promotions marked.

    ``days`` has one row per arm and day: ``arm``, ``day``, ``ap``, ``fraud_value``,
    ``fraud_value_stopped`` and ``promoted`` (a new model serves from the next day).
    """
    figure, (left, right) = _figure(9.0, 3.6, cols=2)
    stopped = days["fraud_value_stopped"] / days["fraud_value"].where(days["fraud_value"] > 0)
    for n, (arm, rows) in enumerate(days.groupby("arm", sort=True)):
        colour = (ACCENT, GENUINE, FRAUD)[n % 3]
        left.plot(rows["day"], rows["ap"], marker="o", color=colour, label=str(arm))
        right.plot(rows["day"], stopped[rows.index], marker="o", color=colour, label=str(arm))
        new = rows[rows["promoted"]]
        left.scatter(new["day"] + 1, rows.set_index("day")["ap"].reindex(new["day"] + 1),
                     marker="^", s=70, color=colour, zorder=3)  # fmt: skip
    left.set(xlabel="day", ylabel="AP of the served model", title="Ranking (▲ new model)")
    right.set(xlabel="day", ylabel="share of fraud value stopped", title="Fraud stopped")
    left.legend(fontsize="small")
    return figure


def rule_hits_bars(table: pd.DataFrame, top: int = 15) -> Figure:
    """Payments each rule or list hit (``rule_hits``), fraud and genuine stacked, shadow
    rules hatched: what a rule would have cost good customers before it goes live."""
    rows = table.head(top).iloc[::-1]
    labels = [f"{r.id} v{r.version} ({r.mode})" for r in rows.itertuples()]
    figure, (ax,) = _figure(7, max(2.5, 0.32 * len(rows) + 1))
    hatch = ["//" if mode == "shadow" else "" for mode in rows["mode"]]
    ax.barh(labels, rows["fraud"], color=FRAUD, hatch=hatch, label="fraud")
    ax.barh(labels, rows["genuine"], left=rows["fraud"], color=GENUINE, hatch=hatch,
            label="genuine")  # fmt: skip
    ax.set(xlabel="payments hit", title="Rule hits by truth (hatched: shadow)")
    ax.legend(fontsize="small")
    return figure
