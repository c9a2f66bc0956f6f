"""The embedded store keeps a bounded working set in memory and loses nothing beyond it."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

from friction.domain.facts import PaymentFacts
from friction.domain.records import Change, LabelUpdate, Observation
from friction.scoring.features import FeatureBook
from friction.storage.embedded import EmbeddedStore
from tests.contract.test_store_contract import T0, same_vector


async def test_evicted_state_is_reloaded_and_features_stay_exact(tmp_path: Path) -> None:
    rng = random.Random(5)
    store, book = EmbeddedStore(tmp_path / "store.db", working_set=8), FeatureBook()
    asked: dict[str, list[float]] = {}
    try:
        for i in range(400):  # 60 customers, 30 terminals, 12 merchants through a cap of 8
            facts = PaymentFacts(
                T0 + i * 600.0, round(rng.uniform(1, 900), 2), f"cus_{rng.randrange(60)}",
                f"mer_{rng.randrange(12)}", f"ter_{rng.randrange(30)}", f"cp_{rng.randrange(9)}",
                "ecom",
            )  # fmt: skip
            observed = await store.observe(facts, 7 * 86400.0, f"pay_{uuid.uuid4().hex}")
            assert isinstance(observed, Observation)
            assert same_vector(observed.features, book.observe(facts)), i
            week_ago = facts.ts - 7 * 86400.0
            recent = [t for t in asked.get(facts.customer_id, []) if t > week_ago]
            assert observed.recent_challenges == len(recent)
            change = Change()
            if i % 3 == 0:
                change.challenge = (facts.customer_id, facts.ts)
                asked.setdefault(facts.customer_id, []).append(facts.ts)
            if i % 5 == 0:
                where = (facts.merchant_id, facts.terminal_id, facts.day)
                fraud, unusual = i % 2 == 0, i % 4 == 0
                change.labels.append(LabelUpdate(*where, fraud, unusual))
                book.label(*where, fraud, unusual)
            await store.commit(change)  # a flush, then the working set is bounded again
            # white-box: the point of the cap is what stays in memory
            assert len(store._book.customers) <= 8 and len(store._book.terminals) <= 8
    finally:
        await store.close()
