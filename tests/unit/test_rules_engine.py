"""Rules: checked when saved (positions named), evaluated in policy order, stricter only,
shadow never acting, one failing rule never failing the decision (friction.rules.rules)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from friction.domain.payment import Payment
from friction.errors import InvalidInput
from friction.rules import GENERIC_TEXTS, ListEntry, Matcher, Rule, RuleList, RuleSet, Vocabulary
from friction.scoring.features import FEATURE_NAMES

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VOCABULARY = Vocabulary(Payment.model_json_schema())
BODY: dict[str, Any] = {
    "payment_id": "pay_1",
    "occurred_at": "2026-03-01T11:59:00Z",
    "amount": {"value": 25_000, "currency": "EUR"},
    "customer": {"id": "cus_1", "phone": "+447700900123", "locale": "fr-FR"},
    "instrument": {"token": "tok_1", "bin": "41115099", "last4": "4242"},
    "merchant": {"id": "mer_1", "name": "ACME", "mcc": "5732", "country": "GB"},
    "channel": "ecom",
}
FEATURES = dict.fromkeys(FEATURE_NAMES, 0.0) | {"cust_mean_30d": 40.0, "cust_count_1d": 2.0}


def rule(rule_id: str, expression: str, action: str = "challenge", **more: Any) -> Rule:
    return Rule(id=rule_id, expression=expression, action=action, **more)  # type: ignore[arg-type]


def lists(*specs: tuple[str, str, str | None, list[str]]) -> list[tuple[RuleList, Matcher]]:
    return [
        (
            RuleList(name=name, kind=kind, action=action),  # type: ignore[arg-type]
            Matcher(
                kind, [ListEntry(value=v, reason="r", added_by="a", added_at=NOW) for v in values]
            ),  # type: ignore[arg-type]
        )
        for name, kind, action, values in specs
    ]


def evaluate(rules: list[Rule], with_lists: Any = (), body: Any = None, score: float = 0.1) -> Any:
    ruleset = RuleSet(VOCABULARY, rules, list(with_lists))
    return ruleset.evaluate(body or BODY, FEATURES, score, now=NOW.timestamp())


def ids(hits: Any) -> list[str]:
    return [hit.id for hit in hits]


COMPILE_ERRORS = [
    ("payment.amount.value > ", "line 1, column 24: Syntax error: the expression ends too early"),
    (
        "score > 0.5 &&\n  payment.merchant.contry == 'GB'",
        "line 2, column 19: unknown field 'contry' of payment.merchant "
        "(it has: id, name, mcc, country, terminal_id)",
    ),
    ("payment.amonut.value > 5", "line 1, column 8: unknown field 'amonut' of payment"),
    ("features.customer_median > 1.0", "line 1, column 9: unknown feature 'customer_median'"),
    (
        "in_list(lists.nope, payment.instrument.bin)",
        "line 1, column 14: unknown list 'nope' (lists: risky_bins)",
    ),
    ("amount > 5", "line 1, column 1: unknown name 'amount'"),
    (
        "payment.amount.value > 5 * features.cust_mean_30d",
        "line 1, column 26: found no matching overload for '_*_' applied to '(int, double)' "
        "(CEL does not mix int and double",
    ),
    ("payment.amount.value", "expression must be true or false, but gives int"),
    ("  ", "expression is empty"),
]


@pytest.mark.parametrize(("expression", "says"), COMPILE_ERRORS)
def test_a_rule_that_does_not_compile_is_refused_naming_the_position(
    expression: str, says: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        VOCABULARY.check(expression, ["risky_bins"])
    assert says in caught.value.message
    assert caught.value.fields == ["expression"] and caught.value.status == 422


def test_the_rules_of_the_issue_compile() -> None:
    for expression in (
        "in_list(lists.risky_bins, payment.instrument.bin)",
        "double(payment.amount.value) > 5.0 * features.cust_mean_30d"
        " && features.first_terminal == 1.0",
        "has(payment.device.ip) && payment.device.ip.startsWith('203.')",
        "score > 0.4 && payment.channel in ['ecom', 'p2p']",
    ):
        VOCABULARY.check(expression, ["risky_bins"])


def test_rule_bodies_are_coherent() -> None:
    with pytest.raises(ValidationError, match="flow is for challenge rules"):
        rule("r", "true", "decline", flow="sms_confirm")
    with pytest.raises(ValidationError, match="missing ar, es"):
        rule("r", "true", "decline", texts={"en": "No.", "fr": "Non."})
    with pytest.raises(ValidationError):
        rule("r", "true", "block")


def test_policy_order_block_lists_then_allow_lists_then_rules_by_priority() -> None:
    both = lists(
        ("known_good", "customer", "allow", ["cus_1"]),
        ("stolen", "instrument", "decline", ["tok_1"]),
        ("risky_bins", "bin", None, ["411111-411199"]),
    )
    rules = [
        rule("late", "in_list(lists.risky_bins, payment.instrument.bin)", "review", priority=50),
        rule("early", "score < 0.5", "challenge", priority=5),
        rule("a_tie", "true", "review", priority=5),
    ]
    verdict = evaluate(rules, both)
    assert ids(verdict.matched) == ["stolen", "known_good", "a_tie", "early", "late"]
    assert (verdict.acting.source, verdict.acting.id) == ("list", "stolen")  # block beats allow
    allowed = evaluate(rules, both[:1] + both[2:])
    assert allowed.acting.id == "known_good" and allowed.apply("decline") == (
        "allow",
        allowed.acting,
    )
    only_rules = evaluate(rules, both[2:])
    assert only_rules.acting.id == "a_tie"  # priority 5, then id


def test_a_rule_only_makes_friction_stricter_unless_it_allows() -> None:
    challenge = evaluate([rule("c", "true", "challenge", flow="sms_confirm")])
    assert challenge.apply("allow") == ("challenge", challenge.acting)
    assert challenge.apply("challenge") == ("challenge", challenge.acting)
    assert challenge.apply("decline") == ("decline", None)  # the model's stricter decision stands
    assert challenge.apply("review") == ("review", None)
    assert challenge.acting.flow == "sms_confirm"
    allow = evaluate([rule("vip", "payment.customer.id == 'cus_1'", "allow")])
    assert allow.apply("decline") == ("allow", allow.acting)
    assert evaluate([rule("x", "false", "decline")]).apply("review") == ("review", None)


def test_shadow_rules_never_act_but_are_reported() -> None:
    rules = [
        rule("watch", "true", "decline", mode="shadow", priority=1),
        rule("real", "score < 0.5", "review", priority=9),
    ]
    verdict = evaluate(rules)
    assert ids(verdict.matched) == ["watch", "real"] and verdict.acting.id == "real"
    only_shadow = evaluate(rules[:1])
    assert ids(only_shadow.matched) == ["watch"] and only_shadow.acting is None
    assert only_shadow.apply("allow") == ("allow", None)


def test_an_evaluation_error_is_no_match_and_is_reported() -> None:
    rules = [
        rule("needs_device", "payment.device.ip.startsWith('10.')", "decline", priority=1),
        rule("divides", "100 / (payment.amount.value - 25000) > 1", "decline", priority=2),
        rule("fine", "payment.amount.value >= 25000", "review", priority=3),
        rule(
            "guarded", "has(payment.device.ip) && payment.device.ip.startsWith('10.')", priority=4
        ),
    ]
    verdict = evaluate(rules)
    assert ids(verdict.matched) == ["fine"] and verdict.acting.id == "fine"
    assert {f.id: f.message for f in verdict.errors}.keys() == {"divides"}
    assert "divide by zero" in verdict.errors[0].message
    with_device = copy.deepcopy(BODY) | {"device": {"ip": "10.1.2.3"}}
    assert ids(evaluate(rules, body=with_device).matched) == ["needs_device", "fine", "guarded"]


def test_a_body_the_schema_does_not_describe_fails_every_rule_not_the_decision() -> None:
    verdict = evaluate([rule("a", "true"), rule("b", "false")], body=BODY | {"surprise": 1})
    assert verdict.matched == () and verdict.acting is None and ids(verdict.errors) == ["a", "b"]


def test_a_rule_reading_a_deleted_list_is_reported_with_every_verdict() -> None:
    ruleset = RuleSet(
        VOCABULARY,
        [rule("gone", "in_list(lists.old, payment.customer.id)"), rule("ok", "true")],
        [],
    )
    assert ids(ruleset.broken) == ["gone"] and "unknown list 'old'" in ruleset.broken[0].message
    verdict = ruleset.evaluate(BODY, FEATURES, 0.1, now=NOW.timestamp())
    assert ids(verdict.errors) == ["gone"] and verdict.acting.id == "ok"


def test_lists_act_on_their_kind_field_and_ranges_cidrs_and_expiry_hold() -> None:
    soon = NOW + timedelta(minutes=1)
    specs = lists(("bad_ips", "ip", "decline", ["203.0.113.0/24"]))
    spec, _ = specs[0]
    expiring = Matcher(
        "ip",
        [
            ListEntry(
                value="203.0.113.0/24", reason="r", added_by="a", added_at=NOW, expires_at=soon
            )
        ],
    )
    body = copy.deepcopy(BODY) | {"device": {"ip": "203.0.113.9"}}
    assert evaluate([], specs, body=body).acting.id == "bad_ips"
    assert evaluate([], specs).acting is None  # no device: no hit and no error
    assert evaluate([], specs).errors == ()
    ruleset = RuleSet(VOCABULARY, [], [(spec, expiring)])
    assert ruleset.evaluate(body, FEATURES, 0.1, now=NOW.timestamp()).acting is not None
    assert ruleset.evaluate(body, FEATURES, 0.1, now=soon.timestamp() + 1).acting is None


def test_features_score_and_mixed_numbers_in_rules() -> None:
    rules = [
        rule(
            "big", "double(payment.amount.value) / 100.0 > 5.0 * features.cust_mean_30d", "review"
        ),
        rule("risky", "score >= 0.8 && features.cust_count_1d < 3.0", "decline"),
    ]
    assert ids(evaluate(rules).matched) == ["big"]
    assert ids(evaluate(rules, score=0.9).matched) == ["big", "risky"]


def test_customer_texts_per_language_or_generic() -> None:
    texts = {
        "en": "Card paused.",
        "ar": "البطاقة موقوفة.",
        "fr": "Carte suspendue.",
        "es": "Tarjeta pausada.",
    }
    own = evaluate([rule("t", "true", "decline", texts=texts)]).acting
    assert own.text("fr-FR") == "Carte suspendue." and own.text("de-DE") == "Card paused."
    generic = evaluate([rule("g", "true", "review")]).acting
    assert generic.text("ar") == GENERIC_TEXTS["review"]["ar"] and generic.text("en") != ""
    assert all(
        set(by_language) == {"en", "ar", "fr", "es"} for by_language in GENERIC_TEXTS.values()
    )


def test_one_program_and_rule_by_rule_agree() -> None:
    """The single program of a rule set gives what each rule gives on its own."""
    expressions = [
        "score > 0.05",
        "payment.merchant.country == 'GB'",
        "features.cust_count_1d > 5.0",
        "payment.instrument.bin.startsWith('4111')",
        "has(payment.payee)",
        "size(payment.merchant.name) > 3",
    ]
    together = evaluate([rule(f"r{i}", e) for i, e in enumerate(expressions)])
    alone = [evaluate([rule(f"r{i}", e)]) for i, e in enumerate(expressions)]
    assert ids(together.matched) == [hit for v in alone for hit in ids(v.matched)]
    assert ids(together.matched) == ["r0", "r1", "r3", "r5"]
