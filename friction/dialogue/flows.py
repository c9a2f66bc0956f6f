"""Dialogue flows as data, and the pure state machine that walks them.

A flow (``flows/<name>.yaml``) is a handful of steps. Each step asks one
question (a template key) and branches on the customer's ``yes`` or ``no`` to
another step or to an outcome: ``released``, ``blocked`` or ``review``. The
rest is the same for every flow, so it is not written in the files:

* ``unclear`` (and a stray ``start``) re-asks; after ``max_attempts`` asks the
  step ends in ``on_exhausted`` (``review`` by default) — never ``released``;
* ``stop`` ends in ``opted_out``: the engine moves to another rung, and an
  opt-out is never read as approval;
* ``human`` ends in ``review`` (the customer's right to contest, GDPR Art. 22);
* ``help`` sends the help text and keeps waiting on the same step;
* silence ends in the step's ``on_expiry`` (``expired`` by default: the
  escalation ladder decides the next rung or the configured default verdict).

:func:`load_flows` refuses at start-up any flow with a dangling branch, an
unknown template key, an unreachable step or a loop between steps, so that
every path ends. :func:`start`, :func:`advance` and :func:`expire` are pure:
they take a serialisable :class:`FlowState` and return the next one inside a
:class:`Step`, which the engine persists *before* it sends anything.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Final, Literal, Self, get_args

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from friction.dialogue.templates import Catalog, default_catalog
from friction.domain.dialogue import FlowEnding, FlowState, Intent, Outcome, Turn
from friction.errors import Conflict, FlowError

__all__ = [
    "FLOWS_DIR",
    "HELP_KEY",
    "HUMAN_HANDOFF_KEY",
    "OUTCOMES",
    "Flow",
    "FlowError",
    "Step",
    "StepSpec",
    "Target",
    "advance",
    "expire",
    "load_flows",
    "start",
]

OUTCOMES: Final = frozenset(get_args(Outcome))
_ENDINGS: Final = frozenset(get_args(FlowEnding))
_OUTCOME_OF: Final[dict[str, Outcome]] = {
    "released": "released",
    "blocked": "blocked",
    "review": "review",
}
FLOWS_DIR: Final = Path(__file__).with_name("flows")
HELP_KEY: Final = "help"
HUMAN_HANDOFF_KEY: Final = "human_handoff"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _target_from_text(value: object) -> object:
    return {"to": value} if isinstance(value, str) else value


class Target(_Strict):
    """Where a reply leads: a step name or an outcome, optionally with its own closing line."""

    to: str
    say: str | None = None
    """Template key sent when ``to`` is an outcome, instead of the flow's closing line."""


Branch = Annotated[Target, BeforeValidator(_target_from_text)]


class Branches(_Strict):
    """The two answers a question can have; everything else is handled uniformly."""

    yes: Branch
    no: Branch


class StepSpec(_Strict):
    """One question of a flow."""

    prompt: str
    on: Branches
    reask: str = "reask"
    max_attempts: int = Field(2, ge=1, le=5)
    """Asks at this step, the first included: 2 = ask, then re-ask once."""
    on_exhausted: Literal["review", "blocked"] = "review"
    expires_after: timedelta = Field(timedelta(minutes=10), gt=timedelta(0), le=timedelta(days=7))
    on_expiry: Literal["expired", "review", "blocked"] = "expired"


class Closing(_Strict):
    """The line sent when a flow ends, per ending (a branch's ``say`` overrides it)."""

    released: str = "thanks_confirmed"
    blocked: str = "thanks_denied"
    review: str = "review_notice"
    opted_out: str = "opted_out"
    expired: str = "expired"


class Flow(_Strict):
    """A validated flow: steps that branch on yes/no and all end in an outcome."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    start: str
    max_turns: int = Field(8, ge=1, le=50)
    """Replies accepted in all; beyond this (help after help…) the flow ends in review."""
    closing: Closing = Closing()
    steps: dict[str, StepSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _well_formed(self) -> Self:
        problems = _structure_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def template_keys(self) -> frozenset[str]:
        """Every template key this flow may send."""
        keys = {HELP_KEY, HUMAN_HANDOFF_KEY, *self.closing.model_dump().values()}
        for spec in self.steps.values():
            keys |= {spec.prompt, spec.reask}
            keys |= {t.say for t in (spec.on.yes, spec.on.no) if t.say is not None}
        return frozenset(keys)


class Step(_Strict):
    """What to do after a turn: persist ``state``, send ``prompt``, maybe conclude."""

    state: FlowState
    prompt: str
    """Template key to send now: the next question, a re-ask, help, or the closing line."""
    outcome: FlowEnding | None = None
    expires_after: timedelta | None = None
    """While waiting for a reply: how long until :func:`expire` should be called."""
    asks: bool = False
    """``prompt`` is a yes/no question (not a re-ask, help or closing line): a text channel
    adds how to answer it, an app shows its buttons."""

    @property
    def done(self) -> bool:
        """Whether the flow has ended."""
        return self.outcome is not None


def start(flow: Flow) -> tuple[FlowState, str]:
    """The first state of ``flow`` and the template key of its first question."""
    return FlowState(flow=flow.name, step=flow.start), flow.steps[flow.start].prompt


def advance(flow: Flow, state: FlowState, intent: Intent) -> Step:
    """The step after the customer's reply ``intent``; Conflict if the flow already ended."""
    spec = _current(flow, state)
    if intent is Intent.STOP:
        return _end(flow, state, intent, "opted_out")
    if intent is Intent.HUMAN:
        return _end(flow, state, intent, "review", HUMAN_HANDOFF_KEY)
    if state.turns + 1 >= flow.max_turns and intent not in {Intent.YES, Intent.NO}:
        return _end(flow, state, intent, "review")
    if intent is Intent.HELP:
        return _wait(flow, _record(state, intent, state.step), HELP_KEY)
    if intent in {Intent.YES, Intent.NO}:
        target = spec.on.yes if intent is Intent.YES else spec.on.no
        if target.to in OUTCOMES:
            return _end(flow, state, intent, _as_outcome(target.to), target.say)
        moved = _record(state, intent, target.to).model_copy(
            update={"step": target.to, "attempts": 1}
        )
        return _wait(flow, moved, flow.steps[target.to].prompt)
    if state.attempts >= spec.max_attempts:
        return _end(flow, state, intent, spec.on_exhausted)
    again = _record(state, intent, state.step).model_copy(update={"attempts": state.attempts + 1})
    return _wait(flow, again, spec.reask)


def expire(flow: Flow, state: FlowState) -> Step:
    """The step when the customer did not answer in time: the step's ``on_expiry``."""
    return _end(flow, state, None, _current(flow, state).on_expiry)


def _current(flow: Flow, state: FlowState) -> StepSpec:
    if state.ended is not None:
        raise Conflict(f"flow {state.flow} already ended: {state.ended}")
    if state.flow != flow.name or state.step not in flow.steps:
        raise FlowError(f"state of {state.flow}/{state.step} does not fit flow {flow.name}")
    return flow.steps[state.step]


def _record(state: FlowState, reply: Intent | None, then: str) -> FlowState:
    turn = Turn(step=state.step, reply=reply, then=then)
    turns = state.turns + (reply is not None)
    return state.model_copy(update={"turns": turns, "history": (*state.history, turn)})


def _wait(flow: Flow, state: FlowState, prompt: str) -> Step:
    spec = flow.steps[state.step]
    return Step(
        state=state, prompt=prompt, expires_after=spec.expires_after, asks=prompt == spec.prompt
    )


def _end(
    flow: Flow, state: FlowState, reply: Intent | None, ending: FlowEnding, say: str | None = None
) -> Step:
    ended = _record(state, reply, ending).model_copy(update={"ended": ending})
    closing: str = getattr(flow.closing, ending)
    return Step(state=ended, prompt=say or closing, outcome=ending)


def _as_outcome(name: str) -> Outcome:
    return _OUTCOME_OF[name]


def _structure_problems(flow: Flow) -> list[str]:
    """Dangling names, unreachable steps and loops (a loop could keep a payment asking forever)."""
    problems = [f"step {n!r} is named like an ending" for n in flow.steps if n in _ENDINGS]
    if flow.start not in flow.steps:
        return [*problems, f"start step {flow.start!r} does not exist"]
    edges: dict[str, list[str]] = {}
    for name, spec in flow.steps.items():
        edges[name] = []
        for answer, target in (("yes", spec.on.yes), ("no", spec.on.no)):
            if target.to in flow.steps:
                edges[name].append(target.to)
            elif target.to not in OUTCOMES:
                problems.append(f"{name}.on.{answer} -> {target.to!r}: no such step or outcome")
            if target.say is not None and target.to not in OUTCOMES:
                problems.append(f"{name}.on.{answer}: 'say' only applies to an outcome")
    reachable = _reachable(flow.start, edges)
    problems += [
        f"step {n!r} is unreachable from {flow.start!r}" for n in edges if n not in reachable
    ]
    cycle = _find_cycle(edges)
    if cycle:
        problems.append("steps loop: " + " -> ".join(cycle))
    return problems


def _reachable(first: str, edges: dict[str, list[str]]) -> set[str]:
    seen, todo = {first}, [first]
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _find_cycle(edges: dict[str, list[str]]) -> list[str]:
    """One loop between steps, as a path that returns to its start; [] if none."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        for nxt in edges[node]:
            found = visit(nxt, [*path, node])
            if found:
                return found
        done.add(node)
        return []

    for node in edges:
        found = visit(node, [])
        if found:
            return found
    return []


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: ``yes``, ``no`` and ``on`` stay strings (they are our keys)."""


_BOOL = "tag:yaml.org,2002:bool"
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    _BOOL,
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_flows(directory: Path = FLOWS_DIR, catalog: Catalog | None = None) -> dict[str, Flow]:
    """Every ``*.yaml`` flow in ``directory``, checked against the templates.

    Raises one FlowError listing every problem, so a bad file stops start-up.
    """
    keys = (catalog or default_catalog()).keys
    flows: dict[str, Flow] = {}
    problems: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            flow = Flow.model_validate(yaml.load(path.read_text("utf-8"), Loader=_Yaml12Loader))
        except (OSError, yaml.YAMLError, ValidationError) as error:
            problems.append(f"{path.name}: {error}")
            continue
        if flow.name != path.stem:
            problems.append(f"{path.name}: is named {flow.name!r}; name the file after the flow")
        missing = sorted(flow.template_keys() - keys)
        if missing:
            problems.append(f"{path.name}: unknown template keys {missing}")
        flows[flow.name] = flow
    if not flows and not problems:
        problems.append(f"{directory}: no flows")
    if problems:
        raise FlowError("invalid flows:\n  " + "\n  ".join(problems), fields=problems)
    return flows
