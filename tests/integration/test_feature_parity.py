"""No train/serve skew: the service and the offline builder compute identical vectors."""

from __future__ import annotations

import itertools
import math
from collections.abc import Awaitable, Callable
from pathlib import Path

from friction.events.file_bus import read_events
from friction.offline.dataset import LabelArrival, read_lines, replay, with_delayed_labels
from friction.scoring.features import FEATURE_NAMES
from friction.settings import Settings
from tests.conftest import Client

StartApp = Callable[[Settings], Awaitable[Client]]


def same(a: float | None, b: float) -> bool:
    if a is None:
        return math.isnan(b)
    return a == b or (math.isnan(a) and math.isnan(b))


async def test_replayed_stream_gives_identical_vectors_online_and_offline(
    sim_stream: Path, make_settings: Callable[..., Settings], start_app: StartApp
) -> None:
    lines = list(itertools.islice(read_lines(sim_stream), 600))
    # labels arrive an hour after each payment, interleaved in time order
    events = [event for event, _ in with_delayed_labels(lines, delay_days=1 / 24)]
    assert any(isinstance(e, LabelArrival) for e in events)
    offline = list(replay(events))

    settings = make_settings()
    client = await start_app(settings)
    for event in events:
        if isinstance(event, LabelArrival):
            label = "fraud" if event.is_fraud else "genuine"
            response = await client.post(
                f"/v1/payments/{event.payment_id}/labels",
                json={"label": label, "source": "analyst"},
            )
        else:
            response = await client.post("/v1/score", json=event.model_dump(mode="json"))
        assert response.status in {200, 202}, await response.text()
    await client.close()

    online = {e.payment_id: e.features for e in read_events(settings.event_log_dir, "decisions")}
    payments = [e for e in events if not isinstance(e, LabelArrival)]
    assert len(online) == len(payments) == len(offline)
    nonzero_risk = 0
    for event, vector in zip(payments, offline, strict=True):
        served = online[event.payment_id]  # type: ignore[attr-defined]
        assert list(served) == list(FEATURE_NAMES)
        mismatched = [
            name for name, v in zip(FEATURE_NAMES, vector, strict=True) if not same(served[name], v)
        ]
        assert mismatched == [], (event.payment_id, mismatched)  # type: ignore[union-attr]
        nonzero_risk += served["terminal_risk_30d"] is not None
    # the comparison covered label-fed features, not only customer windows
    assert nonzero_risk > 0
