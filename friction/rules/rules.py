"""Analysts' rules, and the order in which rules and lists act on a payment.

Order (``RuleSet.evaluate``): block lists, then allow lists, then rules by ascending
``priority`` (then id); the first *live* match acts and every match, live or shadow, is
reported. A block list beats an allow list: a card known to be stolen stays declined even
for a customer someone allow-listed. Lists act through the field of their kind
(``lists.KIND_FIELDS``); lists without an action are read by rules only.

A rule can only make friction stricter (``Verdict.apply``): its action replaces the
model's decision when it is at least as strict (allow < challenge < review < decline);
only an ``allow`` rule (or list) can relax it. A shadow rule never acts. A rule whose
evaluation fails (a field the payment lacks, a division by zero) counts as no match and
is reported in ``Verdict.errors``: one rule never fails the decision.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from cel_expr_python import cel
from pydantic import AwareDatetime, Field, model_validator

from friction.errors import FrictionError
from friction.rules.expressions import MAX_EXPRESSION, Vocabulary
from friction.rules.lists import KIND_FIELDS, Body, RuleList
from friction.rules.matching import Matcher

RuleAction = Literal["allow", "challenge", "review", "decline"]
Mode = Literal["live", "shadow"]
Language = Literal["en", "ar", "fr", "es"]
LANGUAGES: tuple[Language, ...] = ("en", "ar", "fr", "es")
STRICTNESS: dict[str, int] = {"allow": 0, "challenge": 1, "review": 2, "decline": 3}
RuleId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]

GENERIC_TEXTS: dict[str, dict[str, str]] = {
    "allow": {
        "en": "This payment was approved.",
        "ar": "تمت الموافقة على هذه الدفعة.",
        "fr": "Ce paiement a été approuvé.",
        "es": "Este pago ha sido aprobado.",
    },
    "challenge": {
        "en": "We need to confirm this payment with you.",
        "ar": "نحتاج إلى تأكيد هذه الدفعة معك.",
        "fr": "Nous devons confirmer ce paiement avec vous.",
        "es": "Necesitamos confirmar este pago con usted.",
    },
    "review": {
        "en": "This payment is being checked by our team.",
        "ar": "يقوم فريقنا بمراجعة هذه الدفعة.",
        "fr": "Ce paiement est en cours de vérification par notre équipe.",
        "es": "Nuestro equipo está revisando este pago.",
    },
    "decline": {
        "en": "This payment was declined by a security check.",
        "ar": "تم رفض هذه الدفعة بسبب فحص أمني.",
        "fr": "Ce paiement a été refusé par un contrôle de sécurité.",
        "es": "Este pago fue rechazado por un control de seguridad.",
    },
}
"""What a customer reads when the rule that acted has no text of its own."""


class RuleBody(Body):
    """``PUT /v1/rules/{rule_id}``: what an analyst writes."""

    expression: str = Field(min_length=1, max_length=MAX_EXPRESSION)
    action: RuleAction
    flow: str | None = Field(None, pattern=r"^[a-z][a-z0-9_\-]{0,63}$")
    """The dialogue flow a ``challenge`` opens (the tenant's default when absent)."""
    mode: Mode = "live"
    priority: int = Field(100, ge=0, le=1_000_000)
    """Lower acts first."""
    description: str = Field("", max_length=500)
    texts: dict[Language, Annotated[str, Field(min_length=1, max_length=300)]] | None = None
    """What the customer reads, in each of the four languages, or none for a generic text."""

    @model_validator(mode="after")
    def _coherent(self) -> RuleBody:
        if self.flow is not None and self.action != "challenge":
            raise ValueError(f"flow is for challenge rules, not {self.action}")
        if self.texts is not None and (missing := [x for x in LANGUAGES if x not in self.texts]):
            raise ValueError(f"texts needs every language or none: missing {', '.join(missing)}")
        return self


class Rule(RuleBody):
    """A rule as stored: its body, id, version (one more at every save) and who saved it."""

    id: RuleId
    version: int = Field(1, ge=1)
    updated_by: str = ""
    updated_at: AwareDatetime | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule or an allow/block list that matched a payment."""

    source: Literal["list", "rule"]
    id: str
    version: int
    action: RuleAction
    mode: Mode = "live"
    flow: str | None = None
    texts: Mapping[str, str] | None = None

    def text(self, locale: str) -> str:
        """The customer-facing text for a locale (``fr-FR`` → French; English otherwise)."""
        language = locale[:2].lower()
        texts = self.texts or GENERIC_TEXTS[self.action]
        return texts.get(language) or texts["en"]


@dataclass(frozen=True, slots=True)
class Failure:
    """A rule that could not be evaluated (or compiled) for this payment, and why."""

    source: Literal["list", "rule"]
    id: str
    version: int
    message: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """What rules and lists say of one payment: every match, the one that acts, failures."""

    matched: tuple[Hit, ...] = ()
    acting: Hit | None = None
    errors: tuple[Failure, ...] = ()

    def apply(self, decision: RuleAction) -> tuple[RuleAction, Hit | None]:
        """The decision once rules have spoken, and the hit that made it (``None``: the model's).

        Stricter only: an ``allow`` hit allows; any other acts when at least as strict as
        the model's ``decision``; a stricter model decision stands.
        """
        hit = self.acting
        if hit is None:
            return decision, None
        if hit.action == "allow" or STRICTNESS[hit.action] >= STRICTNESS[decision]:
            return hit.action, hit
        return decision, None


class RuleSet:
    """A tenant's rules and lists, compiled once, evaluated in one call per decision.

    Immutable once built (rebuild it when a rule or list changes, then swap); one
    evaluation at a time, as the event loop runs them: ``in_list`` reads this decision's
    time and remembered answers from the instance.
    """

    def __init__(
        self,
        vocabulary: Vocabulary,
        rules: Sequence[Rule],
        lists: Sequence[tuple[RuleList, Matcher]],
    ) -> None:
        self._vocabulary = vocabulary
        self._matchers = [m for _, m in sorted(lists, key=lambda pair: pair[0].name)]
        self._now = 0.0
        self._seen: dict[tuple[int, str], bool] = {}
        self._env = vocabulary.environment((spec.name for spec, _ in lists), self._member)
        self._checks: list[tuple[Hit, Any]] = []
        sources: list[str] = []
        broken: list[Failure] = []
        for hit, expression in _ordered(rules, [spec for spec, _ in lists]):
            try:
                self._checks.append((hit, self._env.compile(expression)))
            except FrictionError as error:  # e.g. it reads a list deleted since it was saved
                broken.append(Failure(hit.source, hit.id, hit.version, error.message))
                continue
            sources.append(expression)
        self.broken = tuple(broken)
        """Rules that no longer compile: reported with every verdict, never evaluated."""
        self._all = self._env.compile_all(sources) if sources else None

    def evaluate(
        self,
        payment: Mapping[str, Any],
        features: Mapping[str, float],
        score: float,
        now: float | None = None,
    ) -> Verdict:
        """Every rule and list against one payment (the decoded JSON body), never raising."""
        self._now = time.time() if now is None else now
        self._seen.clear()
        if self._all is None:
            return Verdict(errors=self.broken)
        try:
            activation = self._env.activation(self._vocabulary.data(payment, features, score))
        except (TypeError, ValueError) as error:  # a body the schema does not describe
            failed = [Failure(h.source, h.id, h.version, str(error)) for h, _ in self._checks]
            return Verdict(errors=self.broken + tuple(failed))
        results = _values(self._all, activation)
        if isinstance(results, str):  # one of them failed: find which, one by one
            results = [_values(program, activation) for _, program in self._checks]
        matched: list[Hit] = []
        errors = list(self.broken)
        for (hit, _), result in zip(self._checks, results, strict=True):
            if result is True:
                matched.append(hit)
            elif result is not False:
                text = result if isinstance(result, str) else f"gave {result!r}, not a bool"
                errors.append(Failure(hit.source, hit.id, hit.version, text))
        acting = next((hit for hit in matched if hit.mode == "live"), None)
        return Verdict(tuple(matched), acting, tuple(errors))

    def _member(self, handle: int, value: str) -> bool:
        """``in_list``: whether a live entry of list ``handle`` covers ``value`` now.

        Remembered for the decision: rules often ask the same list about the same field.
        """
        key = (handle, value)
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = self._matchers[handle].contains(value, self._now)
        return found


def _ordered(rules: Sequence[Rule], lists: Sequence[RuleList]) -> list[tuple[Hit, str]]:
    """Block lists, allow lists, then rules by priority: the order in which they act."""
    acting_lists = sorted(
        (spec for spec in lists if spec.action is not None),
        key=lambda spec: (spec.action != "decline", spec.name),
    )
    checks = []
    for spec in acting_lists:
        path = f"payment.{KIND_FIELDS[spec.kind]}"
        hit = Hit("list", spec.name, spec.version, spec.action or "decline")
        checks.append((hit, f"has({path}) && in_list(lists.{spec.name}, {path})"))
    for rule in sorted(rules, key=lambda r: (r.priority, r.id)):
        texts = {str(k): v for k, v in rule.texts.items()} if rule.texts else None
        hit = Hit("rule", rule.id, rule.version, rule.action, rule.mode, rule.flow, texts)
        checks.append((hit, rule.expression))
    return checks


def _values(program: Any, activation: Any) -> Any:
    """A program's plain value, or its error's message as a ``str``."""
    try:
        value = program.eval(activation)
    except (RuntimeError, TypeError, ValueError) as error:
        return str(error)
    if value.type() == cel.Type.ERROR:
        return str(value.plain_value())
    return value.plain_value()
