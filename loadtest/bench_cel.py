"""The CEL libraries friction could use, on the same 50 rules, payments and lists (µs CPU).

Each library that is installed is measured with its cheapest way to bind a decision's
variables: compile time per rule, one rule, 50 rules (``docs/rules.md`` has the table and
why ``cel-expr-python`` was chosen). The two that friction does not use are not in its
dependencies:

    .venv/bin/pip install common-expression-language cel-python
    .venv/bin/python loadtest/bench_cel.py            # ~1 min; a table, then one JSON line
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any

from bench_rules import bench_payments, build_lists, cpu_us, expressions

from friction.domain.payment import Payment
from friction.rules import Rule, RuleSet, Vocabulary


def compare_libraries(calls: int) -> dict[str, Any]:
    """Each installed CEL library on the same 50 expressions, payments and lists (µs CPU)."""
    lists, _ = build_lists(datetime.now(UTC))
    names = sorted(spec.name for spec, _ in lists)
    matchers = [m for _, m in sorted(lists, key=lambda pair: pair[0].name)]
    handles = {name: i for i, name in enumerate(names)}
    sources, cases = expressions(), bench_payments(256)

    def in_list(handle: int, value: str) -> bool:
        return matchers[int(handle)].contains(str(value), time.time())

    out: dict[str, Any] = {}
    for name, prepare in (
        ("cel-expr-python", _cel_cpp),
        ("common-expression-language", _cel_rust),
        ("cel-python", _cel_pure),
    ):
        try:
            compile_one, bind = prepare(in_list, handles, lists)
        except ImportError:
            out[name] = "not installed"
            continue
        compile_us = cpu_us(lambda i, c=compile_one: c(sources[i % 50]), 100, repeats=3)
        programs = [compile_one(source) for source in sources]
        slow = calls if name != "cel-python" else max(calls // 50, 10)

        def run(count: int, bind: Any = bind, programs: list[Any] = programs) -> Any:
            return lambda i: bind(cases[i % len(cases)], programs[:count])

        out[name] = {
            "compile_us_per_rule": compile_us,
            "one_rule_us": cpu_us(run(1), slow, repeats=3),
            "rules50_us": cpu_us(run(50), slow, repeats=3),
        }
    return out


def _cel_cpp(in_list: Any, handles: dict[str, int], lists: Any) -> tuple[Any, Any]:
    """friction's own path: a ``RuleSet`` (typed messages, one program for all rules)."""
    vocabulary = Vocabulary(Payment.model_json_schema())

    def compile_one(source: str) -> Rule:
        vocabulary.check(source, handles)
        return Rule(id=f"r{abs(hash(source)) % 10**6}", expression=source, action="challenge")

    sets: dict[int, RuleSet] = {}

    def bind(case: Any, rules: list[Rule]) -> Any:
        ruleset = sets.get(len(rules)) or sets.setdefault(
            len(rules), RuleSet(vocabulary, rules, lists)
        )
        return ruleset.evaluate(*case)

    return compile_one, bind


def _cel_rust(in_list: Any, handles: dict[str, int], lists: Any) -> tuple[Any, Any]:
    """Rust bindings: a ``Context`` per decision (dicts converted), one ``execute`` per rule."""
    import cel  # type: ignore[import-not-found]

    def bind(case: Any, programs: list[Any]) -> Any:
        body, features, score = case
        variables = {"payment": body, "features": features, "score": score, "lists": handles}
        context = cel.Context(variables=variables, functions={"in_list": in_list})
        return [program.execute(context) for program in programs]

    return cel.compile, bind


def _cel_pure(in_list: Any, handles: dict[str, int], lists: Any) -> tuple[Any, Any]:
    """Pure Python: an activation of CEL values per decision, one ``evaluate`` per rule."""
    import celpy  # type: ignore[import-not-found]

    env = celpy.Environment()

    def member(handle: Any, value: Any) -> Any:
        return celpy.celtypes.BoolType(in_list(handle, value))

    def compile_one(source: str) -> Any:
        return env.program(env.compile(source), functions={"in_list": member})

    def bind(case: Any, programs: list[Any]) -> Any:
        body, features, score = case
        activation = {
            "payment": celpy.json_to_cel(body),
            "features": celpy.json_to_cel(features),
            "score": celpy.json_to_cel(score),
            "lists": celpy.json_to_cel(handles),
        }
        return [program.evaluate(activation) for program in programs]

    return compile_one, bind


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, measure, print one line per library and a JSON line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--calls", type=int, default=400, help="decisions per repeat")
    args = parser.parse_args(argv)
    out = compare_libraries(args.calls)
    for name, value in out.items():
        print(f"{name:>28}  {value}")
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
