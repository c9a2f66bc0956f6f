"""Analysts' rules and lists: the engine core, free of storage and HTTP.

The service saves lists and rules (``ListBody``, ``EntryBody``, ``RuleBody``), checks a
rule when it is saved (``Vocabulary.check``), and keeps per tenant a ``RuleSet`` rebuilt
when a rule or a list changes; on the hot path ``RuleSet.evaluate`` gives a ``Verdict``
and ``Verdict.apply`` the decision. ``docs/rules.md`` describes the language and order.

    lists        kinds, entries, normalisation per kind, API bodies, CSV bulk upload
    matching     membership in one list version: dict or bisect over segments
    schema       the payment's JSON schema as protobuf messages (what CEL checks against)
    expressions  the CEL vocabulary: payment, features, score, lists; compile errors
    rules        rules, policy order, stricter-only, shadow mode, the rule set
"""

from friction.rules.expressions import Vocabulary
from friction.rules.lists import (
    KIND_FIELDS,
    EntryBody,
    ListBody,
    ListEntry,
    ListKind,
    RuleList,
    make_entry,
    normalise,
    parse_csv,
)
from friction.rules.matching import Matcher
from friction.rules.rules import (
    GENERIC_TEXTS,
    Failure,
    Hit,
    Rule,
    RuleBody,
    RuleSet,
    Verdict,
)

__all__ = [
    "GENERIC_TEXTS",
    "KIND_FIELDS",
    "EntryBody",
    "Failure",
    "Hit",
    "ListBody",
    "ListEntry",
    "ListKind",
    "Matcher",
    "Rule",
    "RuleBody",
    "RuleList",
    "RuleSet",
    "Verdict",
    "Vocabulary",
    "make_entry",
    "normalise",
    "parse_csv",
]
