"""Typed frames of the three event topics: decisions, dialogues, labels.

Every loader accepts any path ``friction.analytics.sources`` understands and returns
the same columns with the same dtypes whatever the source, so a notebook written
against the demo data runs unchanged against the production sink: times are
tz-aware UTC, small vocabularies are categoricals (with a fixed category order
where the domain has one, so plots and group-bys come out in funnel order), ids are
strings. A decision's feature vector becomes one float column per feature,
``f_<name>`` (missing = NaN, as the model saw it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from friction.analytics.sources import SourceNotFound, read_topic
from friction.domain.events import Topic

FEATURE_PREFIX = "f_"
DECISIONS = ("allow", "challenge", "review", "decline")
DIALOGUE_STATES = (
    "created", "sent", "delivered", "reasked", "answered_step", "answered",
    "expired", "opted_out", "failed",
)  # fmt: skip
"""Known states in funnel order; states added by the engine later are appended, not lost."""
LABELS = ("fraud", "genuine", "no_answer")
LABEL_SOURCES = (
    "customer_confirmed", "customer_denied", "no_answer", "chargeback", "fraud_report", "analyst",
)  # fmt: skip

_COMMON: dict[str, Any] = {
    "event_id": "string", "at": "time", "customer_id": "string", "payment_id": "string",
}  # fmt: skip
SCHEMAS: dict[Topic, dict[str, Any]] = {
    "decisions": {
        **_COMMON, "occurred_at": "time", "decision": DECISIONS, "score": "float64",
        "model_version": "category", "reasons": "object", "amount_minor": "int64",
        "currency": "category", "merchant_id": "category", "terminal_id": "category",
        "channel": "category", "propensity": "float64", "degraded": "bool", "rules": "object",
        "payment": "object",
    },
    "dialogues": {
        **_COMMON, "dialogue_id": "string", "state": DIALOGUE_STATES, "channel": "category",
        "locale": "category", "language": "category", "answer": "string", "verdict": "category",
    },
    "labels": {
        **_COMMON, "label": LABELS, "source": LABEL_SOURCES, "delay_seconds": "float64",
        "propensity": "float64", "merchant_id": "category", "terminal_id": "category",
        "occurred_at": "time",
    },
}  # fmt: skip


@dataclass(frozen=True)
class EventFrames:
    """The three topics of one source, typed; the input of ``payments_frame``."""

    decisions: pd.DataFrame
    dialogues: pd.DataFrame
    labels: pd.DataFrame


def load_decisions(path: Path | str) -> pd.DataFrame:
    """Decision events: one row per scored payment, features as ``f_<name>`` columns."""
    raw = _read(path, "decisions")
    features = _feature_frame(raw)
    frame = typed(raw.drop(columns=["features"], errors="ignore"), "decisions")
    frame = pd.concat([frame, features.set_index(frame.index)], axis=1)
    return frame.drop_duplicates("event_id", keep="last").reset_index(drop=True)


def load_dialogues(path: Path | str) -> pd.DataFrame:
    """Dialogue state changes: one row per transition, with ``language`` from the locale."""
    raw = _read(path, "dialogues")
    if "locale" in raw.columns:
        raw["language"] = raw["locale"].astype("string").str.slice(0, 2)
    return typed(raw, "dialogues").drop_duplicates("event_id").reset_index(drop=True)


def load_labels(path: Path | str) -> pd.DataFrame:
    """Label events: truth about payments, with source, delay and propensity."""
    return typed(_read(path, "labels"), "labels").drop_duplicates("event_id").reset_index(drop=True)


def load_events(path: Path | str) -> EventFrames:
    """All three topics at ``path``; a topic with no events yet is an empty typed frame."""
    return EventFrames(
        decisions=load_decisions(path),
        dialogues=_or_empty(load_dialogues, path, "dialogues"),
        labels=_or_empty(load_labels, path, "labels"),
    )


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The ``f_<name>`` columns of a decisions or payments frame, in model order."""
    return [c for c in frame.columns if str(c).startswith(FEATURE_PREFIX)]


def typed(raw: pd.DataFrame, topic: Topic) -> pd.DataFrame:
    """``raw`` with exactly the schema's columns, in order and in their dtypes."""
    out = pd.DataFrame(index=raw.index)
    for column, kind in SCHEMAS[topic].items():
        values = raw[column] if column in raw.columns else pd.Series(None, index=raw.index)
        out[column] = _coerce(values, kind)
    return out


def _coerce(values: pd.Series, kind: Any) -> pd.Series:
    if kind == "time":
        return pd.to_datetime(values, utc=True, format="ISO8601")
    if isinstance(kind, tuple):
        seen = values.dropna().astype(str).unique()
        extra = sorted(set(seen) - set(kind))
        return values.astype(pd.CategoricalDtype([*kind, *extra], ordered=True))
    if kind == "object":
        return values.astype(object)
    if kind == "category":
        return values.astype("string").astype("category")
    if kind == "bool":
        return values.fillna(False).astype(bool)
    return values.astype(kind)


def _read(path: Path | str, topic: Topic) -> pd.DataFrame:
    return read_topic(path, topic)


def _or_empty(load: Any, path: Path | str, topic: Topic) -> pd.DataFrame:
    try:
        frame: pd.DataFrame = load(path)
    except SourceNotFound:
        return typed(pd.DataFrame(), topic)
    return frame


def _feature_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """Feature columns from a ``features`` dict column or flattened ``features.<name>``."""
    if "features" in raw.columns:
        records = [row if isinstance(row, dict) else {} for row in raw["features"]]
        wide = pd.DataFrame.from_records(records, index=raw.index)
    else:
        flat = [c for c in raw.columns if str(c).startswith("features.")]
        wide = raw[flat].rename(columns=lambda c: str(c).removeprefix("features."))
    wide = wide.rename(columns=lambda c: f"{FEATURE_PREFIX}{c}")
    return wide.astype("float64")
