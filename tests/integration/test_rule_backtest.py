"""A rule backtested before it goes live (issue 17): on a stream, and on the decision log.

The stream holds a ring using cards of a BIN range no issuer of the simulated world ever
used (``SimConfig.bin_attack_cards``): ordinary amounts, ordinary shops, daytime. The
bundled model lets nearly all of it through; a one-line rule on the range stops it, and
the report says how many good payments it would have touched (none) — while a broad rule
says how many it would.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from friction.api.keys import STORE
from friction.domain.payment import Payment
from friction.offline.dataset import read_lines
from friction.rules.expressions import Vocabulary
from friction.service.rule_trial import candidate, on_log
from friction.settings import Settings
from friction.simulation import SimConfig, write_stream
from tests.conftest import CANONICAL
from tests.ledger import drained

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[2]
RANGE_RULE = 'payment.instrument.bin.startsWith("539999")'


@pytest.fixture(scope="module")
def ring_stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two weeks after the bundled model's training data, with a ring of 30 cards."""
    path = tmp_path_factory.mktemp("ring") / "stream.jsonl"
    config = SimConfig(seed=23, days=14, customers=400, start=date(2027, 1, 10),
                       bin_attack_cards=30)  # fmt: skip
    write_stream(config, path)
    return path


def backtest(*argv: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FRICTION_")}
    done = subprocess.run(
        [sys.executable, "-m", "friction", "backtest", *argv, "--json", "--no-progress"],
        cwd=ROOT, env=clean | {"COLUMNS": "100"}, capture_output=True, text=True,
        timeout=150, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done, orjson.loads(done.stdout.strip().splitlines()[-1])


def test_a_rule_on_a_new_bin_range_stops_what_the_model_misses(ring_stream: Path) -> None:
    ring = sum(1 for line in read_lines(ring_stream) if line["truth"]["scenario"] == "bin_attack")
    assert ring >= 30
    done, report = backtest("--rule", RANGE_RULE, "--action", "decline", "--data",
                            str(ring_stream), "--models", str(ROOT / "models"))  # fmt: skip
    hits, current, ruled = report["hits"], report["current"], report["with_rule"]
    assert (hits["hits"], hits["fraud"], hits["genuine"]) == (ring, ring, 0)
    assert hits["good_declined"] == hits["good_challenged"] == hits["good_reviewed"] == 0
    # the model let most of the ring through: the rule stops at least 80 % of it anew
    newly_stopped = ruled["fraud_stopped"] - current["fraud_stopped"]
    assert newly_stopped >= 0.8 * ring, (newly_stopped, ring)
    assert ruled["good_declined"] == current["good_declined"]  # no good payment touched
    assert "good payments it would decline" in done.stdout
    assert "with the rule" in done.stdout


def test_a_broad_rule_says_how_many_good_payments_it_would_touch(ring_stream: Path) -> None:
    _, report = backtest("--rule", "payment.amount.value > 20000", "--action", "challenge",
                         "--data", str(ring_stream), "--models", str(ROOT / "models"))  # fmt: skip
    hits, current, ruled = report["hits"], report["current"], report["with_rule"]
    assert hits["genuine"] > 0 and hits["good_challenged"] + hits["good_reviewed"] > 0
    assert ruled["good_challenged"] > current["good_challenged"]
    # the rule's questions still respect the friction budget
    assert ruled["max_challenges_per_customer"] <= Settings().friction_budget


def test_a_rule_that_does_not_compile_is_one_line_with_its_position(ring_stream: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FRICTION_")}
    done = subprocess.run(
        [sys.executable, "-m", "friction", "backtest", "--rule", "payment.merchant.contry == 'GB'",
         "--data", str(ring_stream)],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: --rule: expression does not compile: line 1, column")
    assert "contry" in line and "Traceback" not in done.stderr


async def test_the_decision_log_replays_a_rule_with_the_labels_that_arrived(
    make_settings: Callable[..., Settings], start_app: Callable[..., Any]
) -> None:
    settings = make_settings(challenge_at=0.99, decline_at=1.0)
    client = await start_app(settings)
    ring, ordinary = [], []
    for n in range(12):
        body = copy.deepcopy(CANONICAL)
        body["payment_id"] = f"pay_log_{n}_{uuid.uuid4().hex[:6]}"
        body["customer"]["id"] = f"cus_log_{n}"
        body["amount"]["value"] = 2500 + n
        if n % 3 == 0:
            body["instrument"]["bin"] = f"5399990{n % 10}"
            ring.append(body["payment_id"])
        else:
            ordinary.append(body["payment_id"])
        response = await client.post("/v1/score", json=body)
        assert response.status == 200, await response.text()
    for payment_id in ring[:3]:  # chargebacks came back for three of the four
        label = {"label": "fraud", "source": "chargeback"}
        response = await client.post(f"/v1/payments/{payment_id}/labels", json=label)
        assert response.status == 202, await response.text()
    await drained(client.server.app[STORE])

    test = candidate(Vocabulary(Payment.model_json_schema()), RANGE_RULE, "decline")
    trial = on_log(settings.event_log_dir, test, settings)
    assert trial.payments == 12 and trial.skipped == 0
    hits = trial.hits
    assert (hits.hits, hits.fraud, hits.unlabelled, hits.genuine) == (4, 3, 1, 0)
    assert hits.acted == 4 and hits.good_declined == 0
    assert sum(hits.changes.values()) == 4 and all(m.endswith("→ decline") for m in hits.changes)
    # the event keeps what rules read, not the customer's phone
    raw = (settings.event_log_dir / "decisions.jsonl").read_bytes()
    assert b"539999" in raw and CANONICAL["customer"]["phone"].encode() not in raw
    _, report = backtest("--rule", RANGE_RULE, "--events", str(settings.event_log_dir))
    assert report["hits"] == hits.model_dump(mode="json")  # the command says the same
