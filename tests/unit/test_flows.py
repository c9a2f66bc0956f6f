"""Flows as data: scripted conversations, safety properties, expiry and start-up validation."""

from __future__ import annotations

import itertools
from pathlib import Path
from textwrap import dedent

import pytest

from friction.dialogue.flows import Flow, FlowError, Step, advance, expire, load_flows, start
from friction.dialogue.templates import default_catalog
from friction.domain.dialogue import FlowState, Intent
from friction.errors import Conflict

FLOWS = load_flows()
Y, N, STOP, START = Intent.YES, Intent.NO, Intent.STOP, Intent.START
HELP, HUMAN, UNCLEAR = Intent.HELP, Intent.HUMAN, Intent.UNCLEAR


def run(flow: Flow, replies: list[Intent]) -> tuple[Step | None, list[str]]:
    """Play ``replies`` into ``flow``; the last step and every prompt sent after the first."""
    state, _ = start(flow)
    step: Step | None = None
    prompts: list[str] = []
    for intent in replies:
        step = advance(flow, state, intent)
        prompts.append(step.prompt)
        state = step.state
        if step.done:
            break
    return step, prompts


def test_the_packaged_flows_load() -> None:
    assert set(FLOWS) == {"purchase_confirmation", "new_payee_transfer", "account_takeover_check"}


P, T, A = "purchase_confirmation", "new_payee_transfer", "account_takeover_check"
SCRIPTS = [
    (P, [Y], "released", ["thanks_confirmed"]),
    (P, [N], "blocked", ["thanks_denied"]),
    (P, [UNCLEAR, Y], "released", ["reask", "thanks_confirmed"]),
    (P, [UNCLEAR, N], "blocked", ["reask", "thanks_denied"]),
    (P, [UNCLEAR, UNCLEAR], "review", ["reask", "review_notice"]),
    (P, [START, UNCLEAR], "review", ["reask", "review_notice"]),
    (P, [STOP], "opted_out", ["opted_out"]),
    (P, [UNCLEAR, STOP], "opted_out", ["reask", "opted_out"]),
    (P, [HUMAN], "review", ["human_handoff"]),
    (P, [HELP, Y], "released", ["help", "thanks_confirmed"]),
    (P, [HELP, UNCLEAR, HELP, N], "blocked", ["help", "reask", "help", "thanks_denied"]),
    (P, [HELP] * 8, "review", ["help"] * 7 + ["review_notice"]),
    (T, [Y, N], "released", ["scam_question", "thanks_confirmed"]),
    (T, [Y, Y], "review", ["scam_question", "scam_pause"]),
    (T, [N], "blocked", ["transfer_denied"]),
    (T, [UNCLEAR, Y, Y], "review", ["reask", "scam_question", "scam_pause"]),
    (T, [Y, UNCLEAR, N], "released", ["scam_question", "reask", "thanks_confirmed"]),
    (T, [Y, UNCLEAR, UNCLEAR], "review", ["scam_question", "reask", "review_notice"]),
    (T, [Y, HUMAN], "review", ["scam_question", "human_handoff"]),
    (T, [Y, STOP], "opted_out", ["scam_question", "opted_out"]),
    (A, [Y, Y], "released", ["purchase_confirmation", "thanks_confirmed"]),
    (A, [N], "blocked", ["thanks_denied"]),
    (A, [Y, N], "blocked", ["purchase_confirmation", "thanks_denied"]),
    (A, [UNCLEAR, UNCLEAR], "review", ["reask", "review_notice"]),
]


@pytest.mark.parametrize(("flow", "replies", "outcome", "prompts"), SCRIPTS)
def test_scripted_conversations(
    flow: str, replies: list[Intent], outcome: str, prompts: list[str]
) -> None:
    step, sent = run(FLOWS[flow], replies)
    assert step is not None
    assert (step.outcome, sent) == (outcome, prompts)
    assert len(step.state.history) == len(replies)
    assert step.state.ended == outcome


@pytest.mark.parametrize(
    ("flow", "first"),
    [
        ("purchase_confirmation", "purchase_confirmation"),
        ("new_payee_transfer", "new_payee_transfer"),
        ("account_takeover_check", "account_takeover_check"),
    ],
)
def test_start_asks_the_first_question(flow: str, first: str) -> None:
    state, prompt = start(FLOWS[flow])
    assert prompt == first
    assert (state.attempts, state.turns, state.history, state.ended) == (1, 0, (), None)


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_only_an_explicit_yes_or_no_ever_releases_and_every_path_ends(name: str) -> None:
    flow = FLOWS[name]
    for replies in itertools.product(list(Intent), repeat=4):
        step, _ = run(flow, list(replies))
        assert step is not None
        if step.outcome == "released":
            assert step.state.history[-1].reply in {Y, N}
    for replies in itertools.product([UNCLEAR, HELP, START], repeat=flow.max_turns):
        step, _ = run(flow, list(replies))
        assert step is not None
        assert step.done
        assert step.outcome == "review"


@pytest.mark.parametrize(
    ("flow", "replies", "outcome"),
    [
        ("purchase_confirmation", [], "expired"),
        ("purchase_confirmation", [UNCLEAR], "expired"),
        ("new_payee_transfer", [], "expired"),
        ("new_payee_transfer", [Y], "review"),
        ("account_takeover_check", [Y], "review"),
    ],
)
def test_silence_ends_in_the_steps_expiry_outcome(
    flow: str, replies: list[Intent], outcome: str
) -> None:
    state, _ = start(FLOWS[flow])
    for intent in replies:
        state = advance(FLOWS[flow], state, intent).state
    step = expire(FLOWS[flow], state)
    assert (step.outcome, step.prompt) == (outcome, FLOWS[flow].closing.model_dump()[outcome])
    assert step.state.history[-1].reply is None


def test_waiting_steps_carry_their_timeout() -> None:
    flow = FLOWS["new_payee_transfer"]
    step = advance(flow, start(flow)[0], Y)
    assert step.expires_after is not None
    assert step.expires_after.total_seconds() == 30 * 60
    assert not step.done


def test_state_survives_json_round_trip_mid_flow() -> None:
    flow = FLOWS["new_payee_transfer"]
    state = advance(flow, advance(flow, start(flow)[0], UNCLEAR).state, Y).state
    again = FlowState.model_validate_json(state.model_dump_json())
    assert again == state
    assert advance(flow, again, Y).outcome == "review"


def test_a_second_answer_after_the_end_is_a_conflict() -> None:
    flow = FLOWS["purchase_confirmation"]
    ended = advance(flow, start(flow)[0], Y).state
    with pytest.raises(Conflict):
        advance(flow, ended, N)
    with pytest.raises(Conflict):
        expire(flow, ended)


def test_a_state_from_another_flow_is_refused() -> None:
    state, _ = start(FLOWS["new_payee_transfer"])
    with pytest.raises(FlowError):
        advance(FLOWS["purchase_confirmation"], state, Y)


# --- validation at start-up -----------------------------------------------------------

GOOD = """
name: demo
start: ask
steps:
  ask:
    prompt: purchase_confirmation
    on:
      yes: second
      no: blocked
  second:
    prompt: scam_question
    on: {yes: {to: review, say: scam_pause}, no: released}
"""

NO_LINE = "      no: blocked"
BROKEN = [
    (GOOD.replace("yes: second", "yes: nowhere"), "no such step or outcome"),
    (GOOD.replace("prompt: scam_question", "prompt: scam_questoin"), "unknown template keys"),
    (GOOD.replace("say: scam_pause", "say: nope"), "unknown template keys"),
    (GOOD.replace("yes: second", "yes: released"), "'second' is unreachable"),
    (GOOD.replace("no: released", "no: ask"), "steps loop: ask -> second -> ask"),
    (GOOD.replace("start: ask", "start: begin"), "start step 'begin' does not exist"),
    (GOOD.replace("yes: second", "yes: {to: second, say: x}"), "only applies to an outcome"),
    (GOOD.replace("second", "released"), "named like an ending"),
    (GOOD.replace(NO_LINE, NO_LINE + "\n    on_exhausted: released"), "on_exhausted"),
    (GOOD.replace(NO_LINE, NO_LINE + "\n    on_expiry: released"), "on_expiry"),
    (GOOD.replace(NO_LINE, "      maybe: review"), "no"),
    (GOOD.replace("name: demo", "name: other"), "name the file after the flow"),
    ("steps: [", "demo.yaml"),
]


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "demo.yaml").write_text(dedent(text), "utf-8")
    return tmp_path


def test_a_good_flow_loads_with_yaml_yes_and_no_as_keys(tmp_path: Path) -> None:
    flows = load_flows(_write(tmp_path, GOOD), default_catalog())
    assert flows["demo"].steps["ask"].on.yes.to == "second"
    assert flows["demo"].steps["second"].on.yes.say == "scam_pause"


@pytest.mark.parametrize(("text", "message"), BROKEN)
def test_invalid_flows_stop_start_up_with_a_clear_error(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(FlowError, match=message):
        load_flows(_write(tmp_path, text))


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="no flows"):
        load_flows(tmp_path)
