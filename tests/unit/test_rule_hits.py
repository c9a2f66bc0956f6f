"""Rule hits from the decision log: live and shadow rules per version, with the truth of
the payments they hit (what an analyst reads before promoting a shadow rule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from friction import analytics as fa
from friction.analytics.rule_hits import COLUMNS
from friction.domain.events import DecisionEvent, LabelEvent, RuleMatch, RulesTrace
from friction.errors import InvalidInput

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
SHADOW = RuleMatch(source="rule", id="new_bin", version=2, action="decline", mode="shadow")
BLOCK = RuleMatch(source="list", id="blocked_cards", version=1, action="decline")


def decision(
    n: int, decision: str, matched: list[RuleMatch], acted: RuleMatch | None
) -> DecisionEvent:
    trace = RulesTrace(matched=matched, acted=acted) if matched else None
    return DecisionEvent(
        event_id=f"decision:p{n}", at=T0 + timedelta(minutes=n), customer_id=f"c{n}",
        payment_id=f"p{n}", occurred_at=T0 + timedelta(minutes=n), decision=decision,
        score=0.1, model_version="v1", reasons=["LOW_RISK"], features={}, amount_minor=1000,
        currency="EUR", merchant_id="m1", terminal_id="t1", channel="ecom", rules=trace,
    )  # fmt: skip


def fraud(n: int) -> LabelEvent:
    return LabelEvent(
        event_id=f"label:p{n}", at=T0 + timedelta(days=2), customer_id=f"c{n}",
        payment_id=f"p{n}", label="fraud", source="chargeback", delay_seconds=172800.0,
        merchant_id="m1", terminal_id="t1", occurred_at=T0,
    )  # fmt: skip


def test_rule_hits_count_shadow_and_live_matches_with_their_truth(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    decisions = [
        decision(0, "allow", [SHADOW], None),  # fraud the shadow rule would have stopped
        decision(1, "allow", [SHADOW], None),  # fraud too
        decision(2, "allow", [SHADOW], None),  # a good customer it would have declined
        decision(3, "decline", [BLOCK, SHADOW], BLOCK),  # the list acted, the rule only watched
        decision(4, "allow", [], None),
    ]
    lines = b"".join(e.model_dump_json(by_alias=True).encode() + b"\n" for e in decisions)
    (events / "decisions.jsonl").write_bytes(lines)
    labels = b"".join(fraud(n).model_dump_json().encode() + b"\n" for n in (0, 1, 3))
    (events / "labels.jsonl").write_bytes(labels)

    payments = fa.payments_frame(fa.load_events(tmp_path))
    table = fa.rule_hits(payments).set_index("id")

    shadow = table.loc["new_bin"]
    assert (shadow["mode"], shadow["version"], shadow["hits"], shadow["acted"]) == (
        "shadow",
        2,
        4,
        0,
    )
    assert (shadow["fraud"], shadow["genuine"], shadow["precision"]) == (3, 1, 0.75)
    listed = table.loc["blocked_cards"]
    assert (listed["source"], listed["hits"], listed["acted"], listed["fraud"]) == ("list", 1, 1, 1)

    matches = fa.rule_matches(payments)
    assert sorted(matches[matches["id"] == "new_bin"]["payment_id"]) == ["p0", "p1", "p2", "p3"]
    strict = fa.rule_hits(payments, unlabelled="drop").set_index("id")
    assert (strict.loc["new_bin", "hits"], strict.loc["new_bin", "genuine"]) == (3, 0)


def test_rule_hits_of_a_log_without_rules_is_an_empty_table(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    line = decision(0, "allow", [], None).model_dump_json(by_alias=True).encode() + b"\n"
    (events / "decisions.jsonl").write_bytes(line)
    table = fa.rule_hits(fa.payments_frame(fa.load_events(tmp_path)))
    assert table.empty and list(table.columns) == list(COLUMNS)


def test_matches_tries_an_unsaved_rule_on_the_logged_bodies_and_features(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    body = {
        "payment_id": "p0", "amount": {"value": 1000, "currency": "EUR"},
        "customer": {"id": "c0", "locale": "en-GB"},
        "instrument": {"token": "tok_1", "bin": "539999", "last4": "4242"},
        "merchant": {"id": "m1", "name": "ACME", "mcc": "5732", "country": "GB"},
        "channel": "ecom",
    }  # fmt: skip
    decisions = [
        decision(0, "allow", [], None).model_copy(update={"payment": body}),
        decision(1, "allow", [], None).model_copy(
            update={"payment": {**body, "instrument": {**body["instrument"], "bin": "424242"}}}
        ),
        decision(2, "allow", [], None),  # logged before events carried the body
    ]
    lines = b"".join(e.model_dump_json(by_alias=True).encode() + b"\n" for e in decisions)
    (events / "decisions.jsonl").write_bytes(lines)
    payments = fa.payments_frame(fa.load_events(tmp_path)).set_index("payment_id")

    found = fa.matches(payments, "payment.instrument.bin.startsWith('5399')")
    assert found.to_dict() == {"p0": True, "p1": False, "p2": False}
    with pytest.raises(InvalidInput, match="line 1, column"):
        fa.matches(payments, "payment.instrument.bim == '1'")
