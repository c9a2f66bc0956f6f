"""`friction train` weights every row by 1 / propensity of the action behind its label."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from friction.events.sink import SinkRow
from friction.scoring.features import FEATURE_NAMES
from friction.training.production import Maturity, sink_dataset

WHEN = datetime(2026, 11, 1, tzinfo=UTC)


def row(pid: str, **kw: object) -> SinkRow:
    features: dict[str, float | None] = dict.fromkeys(FEATURE_NAMES, 1.0)
    return SinkRow.model_validate(
        {"payment_id": pid, "customer_id": "c", "occurred_at": WHEN, "decision": "allow",
         "features": features, **kw}
    )  # fmt: skip


def test_sink_rows_are_weighted_by_the_inverse_propensity_of_their_label(tmp_path: Path) -> None:
    rows = [
        row("explored", decision="challenge", propensity=0.01, label="fraud",
            label_source="customer_denied", label_propensity=0.01),
        row("asked", decision="challenge", propensity=1.0, label="genuine",
            label_source="customer_confirmed", label_propensity=1.0),
        row("allowed", propensity=0.99),  # matured: the allow decision produced its label
        row("old", label="fraud", label_source="chargeback"),  # nothing recorded: weight 1
    ]  # fmt: skip
    part = tmp_path / "date=2026-11-01" / "part-0.jsonl"
    part.parent.mkdir()
    part.write_text("".join(r.model_dump_json() + "\n" for r in rows))
    dataset, _ = sink_dataset(tmp_path, Maturity(days=1, as_of=datetime(2026, 12, 1, tzinfo=UTC)))
    weight = dict(zip(dataset.payment_ids, dataset.weights().tolist(), strict=True))
    assert weight == {"explored": 100.0, "asked": 1.0, "allowed": 1 / 0.99, "old": 1.0}
    assert np.array_equal(dataset.y, [1, 0, 0, 1])
