"""friction.analytics — the analysts' workbench over the decision, dialogue and label log.

Load, join, measure, plot:

- ``frames`` — ``load_decisions``, ``load_dialogues``, ``load_labels``, ``load_events``:
  typed pandas frames from the embedded event log or the production sink's
  JSON-lines/Parquet dataset (format detected by ``sources``).
- ``join`` — ``payments_frame``: one row per payment with its dialogue and resolved label.
- ``measures`` — AUC/AP, score distribution, precision/recall by threshold, cost curve,
  card precision@k, false declines, label coverage.
- ``tuning`` — ``budget_table``: replay a per-customer friction budget.
- ``funnel`` — the friction funnel and time to answer by channel and language.
- ``rule_hits`` — ``rule_hits``/``rule_matches``: what live and shadow rules and lists
  matched on real traffic, per rule version, with the truth of the payments they hit;
  ``matches``: the payments a rule not yet saved would hit.
- ``drift`` — population stability index of features and scores between windows.
- ``explain`` — replay one decision through the model: per-feature contributions.
- ``plots`` — matplotlib figures used by the notebooks and ``friction report``.
- ``reviews`` / ``review_sources`` — the review queue as a frame: ``await load_reviews(url
  or data dir)`` (``fetch_reviews``/``store_reviews`` for the raw items), ``reviews_frame``.
- ``demo`` — ``make_demo_data``: real events from the real service, in seconds
  (imported on its own: it starts the service).

Typical use::

    from friction import analytics as fa
    events = fa.load_events("var")           # a data dir, event-log dir or sink dataset
    payments = fa.payments_frame(events)
    fa.ranking_metrics(payments), fa.funnel(payments)
"""

from friction.analytics.drift import drift_level, drift_table, psi, psi_noise, weekly_windows
from friction.analytics.explain import contributions, decision_card, vector_of
from friction.analytics.frames import (
    EventFrames,
    feature_columns,
    load_decisions,
    load_dialogues,
    load_events,
    load_labels,
)
from friction.analytics.funnel import funnel, funnel_totals, time_to_answer
from friction.analytics.join import payments_frame
from friction.analytics.measures import (
    blocked_breakdown,
    card_precision_at_k,
    cost_curve,
    false_declines,
    label_coverage,
    label_sources,
    ranking_metrics,
    score_distribution,
    threshold_table,
    truth,
)
from friction.analytics.review_sources import fetch_reviews, load_reviews, store_reviews
from friction.analytics.reviews import ReviewSource, reviews_frame
from friction.analytics.rule_hits import matches, rule_hits, rule_matches
from friction.analytics.sources import SourceNotFound, read_topic
from friction.analytics.tuning import budget_table

__all__ = [
    "EventFrames",
    "ReviewSource",
    "SourceNotFound",
    "blocked_breakdown",
    "budget_table",
    "card_precision_at_k",
    "contributions",
    "cost_curve",
    "decision_card",
    "drift_level",
    "drift_table",
    "false_declines",
    "feature_columns",
    "fetch_reviews",
    "funnel",
    "funnel_totals",
    "label_coverage",
    "label_sources",
    "load_decisions",
    "load_dialogues",
    "load_events",
    "load_labels",
    "load_reviews",
    "matches",
    "payments_frame",
    "psi",
    "psi_noise",
    "ranking_metrics",
    "read_topic",
    "reviews_frame",
    "rule_hits",
    "rule_matches",
    "score_distribution",
    "store_reviews",
    "threshold_table",
    "time_to_answer",
    "truth",
    "vector_of",
    "weekly_windows",
]
