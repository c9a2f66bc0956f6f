"""Rule expressions in CEL: what they may read, how they are checked, how they are run.

The library is ``cel-expr-python``, the CEL project's own C++ runtime (``docs/rules.md``
says why, with the measurements): its type checker refuses an unknown field, feature or
list when the rule is saved, naming the line and column, and a rule set runs as one
compiled program per decision, which is what keeps 50 rules inside the hot-path budget.

An expression sees

- ``payment``: the scored body, as a protobuf message derived from its JSON schema
  (``friction.rules.schema``), so ``has(payment.device.ip)`` asks whether it was sent;
- ``features``: the named online features (``FEATURE_NAMES``), all doubles;
- ``score``: the model's probability of fraud, a double;
- ``lists.NAME``: a handle on a list, read with ``in_list(lists.NAME, value)``, true when
  a live entry covers the value (a BIN under a prefix or in a range, an IP in a CIDR, a
  subdomain of a domain). A handle, not the values: a list of 100,000 entries is never
  copied into an evaluation, and a list name that does not exist is refused like a field.

CEL does not mix ``int`` and ``double``: amounts are integers (minor units), features and
the score doubles; ``double(payment.amount.value) > 5.0 * features.cust_mean_30d``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cel_expr_python import cel

from friction.errors import InvalidInput
from friction.rules.schema import MessageTypes, build_types, flat_schema
from friction.scoring.features import FEATURE_NAMES

MAX_EXPRESSION = 4000
IN_LIST = "in_list_int_string"
_POSITION = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*?)(?: \[[A-Z_]+\])?$")
_UNDECLARED = re.compile(r"undeclared reference to '([^']+)'.*")
_UNDEFINED = re.compile(r"undefined field '([^']+)' not found in struct '([^']+)'")
_MIXED = re.compile(
    r"found no matching overload for '_?[^']*' applied to '\(.*(int, double|double, int).*"
)

Membership = Callable[[int, str], bool]
"""``in_list``'s implementation: (list handle, value) → whether a live entry covers it."""


class Vocabulary:
    """What rules may read, built once per process from the payment body's JSON schema."""

    def __init__(self, payment_schema: Mapping[str, Any]) -> None:
        roots = {"payment": payment_schema, "features": flat_schema(FEATURE_NAMES)}
        self.types: MessageTypes = build_types(roots, "friction_rules.proto")
        self._payment = self.types.classes["payment"]
        self._features = self.types.classes["features"]

    def environment(self, list_names: Iterable[str], membership: Membership) -> Environment:
        """A CEL environment that knows these lists (handles are their sorted positions)."""
        names = sorted(set(list_names))
        t = cel.Type
        variables = {
            "payment": t(self.types.type_name("payment")),
            "features": t(self.types.type_name("features")),
            "score": t.DOUBLE,
            **{f"lists.{name}": t.INT for name in names},
        }
        in_list = cel.FunctionDecl("in_list", [cel.Overload(IN_LIST, t.BOOL, [t.INT, t.STRING])])
        env = cel.NewEnv(
            descriptor_pool=self.types.pool,
            variables=variables,
            functions=[in_list],
            function_impls={IN_LIST: membership},
        )
        handles = {f"lists.{name}": i for i, name in enumerate(names)}
        return Environment(self, env, names, handles)

    def check(self, expression: str, list_names: Iterable[str]) -> None:
        """Refuse, with line and column, an expression that would not compile among these lists."""
        self.environment(list_names, _never).compile(expression)

    def data(
        self, payment: Mapping[str, Any], features: Mapping[str, float], score: float
    ) -> dict[str, Any]:
        """The variables of one decision (the payment as the JSON body decoded it)."""
        return {
            "payment": self._payment(**payment),
            "features": self._features(**features),
            "score": float(score),
        }


@dataclass(frozen=True, slots=True)
class Environment:
    """A compiler and runtime for one set of list names."""

    vocabulary: Vocabulary
    env: Any
    list_names: list[str]
    handles: dict[str, int]
    """``lists.NAME`` → the handle ``in_list`` receives (the list's index in ``list_names``)."""

    def compile(self, expression: str) -> Any:
        """A checked program that yields a bool, or ``InvalidInput`` naming line and column."""
        if not expression.strip():
            raise InvalidInput("expression is empty", fields=["expression"])
        if len(expression) > MAX_EXPRESSION:
            raise InvalidInput(
                f"expression is longer than {MAX_EXPRESSION} characters", fields=["expression"]
            )
        try:
            program = self.env.compile(expression)
        except RuntimeError as error:
            raise InvalidInput(
                "expression does not compile: " + self._explain(str(error)), fields=["expression"]
            ) from None
        kind = program.return_type()
        if kind not in (cel.Type.BOOL, cel.Type.DYN):
            raise InvalidInput(
                f"expression must be true or false, but gives {kind.name().lower()}",
                fields=["expression"],
            )
        return program

    def compile_all(self, expressions: Sequence[str]) -> Any:
        """One program answering every (already checked) expression as a list of bools.

        CEL evaluates the elements of a list independently and without side effects, so
        its value is exactly the list of the programs' values whenever none fails; when
        one fails, the whole list is an error and the caller runs them one by one.
        """
        return self.env.compile("[" + ",\n".join(f"({e}\n)" for e in expressions) + "]")

    def activation(self, data: dict[str, Any]) -> Any:
        """Bindings for one decision: its variables and every list's handle."""
        return self.env.Activation({**data, **self.handles})

    def _explain(self, message: str) -> str:
        """CEL's errors as 'line L, column C: what', in the words of this vocabulary."""
        lines = [m.groups() for m in map(_POSITION.search, message.splitlines()) if m]
        found = [g for g in lines if "'*error*'" not in g[2]]  # not the knock-on errors
        if not found:
            return message.splitlines()[0][:300]
        return "; ".join(
            f"line {line}, column {column}: {self._reword(what)}" for line, column, what in found
        )

    def _reword(self, what: str) -> str:
        if match := _UNDECLARED.fullmatch(what):
            name = match.group(1)
            if name.startswith("lists."):
                known = ", ".join(self.list_names) or "none yet"
                return f"unknown list '{name[6:]}' (lists: {known})"
            return f"unknown name '{name}': an expression reads payment, features, score, lists"
        if match := _UNDEFINED.fullmatch(what):
            field, struct = match.groups()
            path = self.vocabulary.types.paths.get(struct, struct)
            if path == "features":
                return f"unknown feature '{field}' (see friction.scoring.features.FEATURE_NAMES)"
            fields = self.vocabulary.types.pool.FindMessageTypeByName(struct).fields_by_name
            return f"unknown field '{field}' of {path} (it has: {', '.join(fields)})"
        if _MIXED.match(what):
            return f"{what} (CEL does not mix int and double: write 5.0, or double(x), int(x))"
        if "mismatched input '<EOF>'" in what:
            return "Syntax error: the expression ends too early"
        return what.split(" expecting {")[0][:300]


def _never(handle: int, value: str) -> bool:
    """Membership while only checking: never called, since nothing is evaluated."""
    raise AssertionError("a checking environment does not evaluate")
