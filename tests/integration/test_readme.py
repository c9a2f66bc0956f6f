"""The README's shell blocks, run as a newcomer would paste them (issue 19).

Every ``bash`` block of the README is either run here or named below with the reason it
is not (a long wait, a Docker host, a Dask cluster): a new block must be one or the other.
The tour runs as written: terminal 1 starts the service with the README's variables,
terminal 2's blocks run in order, and what they print is held against the README's
comments and its JSON answer; the SMS block runs whole against the fake Twilio. Ports are
the README's moved to free ones (a second copy of the suite may run beside this one), and
the work folder is a fresh one holding only the venv and the bundled model.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.readme import README, ROOT, Block, blocks, shows
from tests.servers import free_port

pytestmark = pytest.mark.timeout(240)

TERMINAL_1 = "FRICTION_CHALLENGE_AT=0 FRICTION_DEV_ENDPOINTS=true make run"
TOUR = (
    "NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)",
    ".venv/bin/friction reply +447700900123 YES",
    "curl -s localhost:8080/v1/score -H 'Content-Type: application/json' --data @- <<EOF | "
    "jq -c '{decision}'",
    'curl -s localhost:8080/v1/payments/pay_0001          # "decision":"challenge",'
    '"verdict":"released"',
    "curl -s -X PUT localhost:8080/v1/lists/ring_bins -H 'Content-Type: application/json' \\",
)
SMS = "mkdir -p var/sms-demo"
NOT_RUN = {
    "make run    # creates .venv, installs friction, serves http://127.0.0.1:8080 on embedded "
    "defaults": "the two commands: `make test` is this suite, `make run` is the tour's terminal 1",
    "friction backtest --sweep --handbook ../shared/data/handbook --json   # 12 min 43 s wall, "
    "2 shared cores": "13 minutes; test_readme_figures parses it and checks its table's sums",
    "make model    # friction simulate … --days 45 --customers 3000 --seed 7, then friction train "
    "… --promote always": "45 simulated days and a full training; test_readme_figures parses it",
    "pip install 'friction[dask]'      # once: the optional Dask extra (`make test` installs it)": (
        "needs a Dask scheduler: test_dask_training trains on a local cluster"
    ),
    "docker compose up -d                      # service on http://localhost:8080": (
        "no Docker here: test_compose checks the file"
    ),
    "make notebooks        # installs the `notebooks` extra (JupyterLab), runs `friction "
    "demo-data --out var/demo` if missing, opens JupyterLab": (
        "opens JupyterLab and waits; test_notebooks runs every notebook headless"
    ),
}
VARYING = {"score", "reasons", "id", "expires_at"}
"""Answer fields that change with the clock (the model reads the hour and the weekday) or
are new each time; the test checks their type, not their value."""


def test_every_shell_block_is_run_or_says_why_not() -> None:
    keys = [block.key for block in blocks()]
    assert len(keys) == len(set(keys))
    assert set(keys) == {TERMINAL_1, *TOUR, SMS, *NOT_RUN}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A fresh folder to run the README in: the venv and the bundled model, nothing else."""
    for name in (".venv", "models"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


@pytest.fixture
def ports() -> dict[str, str]:
    """The README's ports, each moved to a free one."""
    return {readme: str(free_port()) for readme in ("8080", "8081", "8099")}


def localised(text: str, ports: dict[str, str]) -> str:
    """The block on this run's ports; ``make run`` as the Makefile's recipe runs it."""
    recipe = (ROOT / "Makefile").read_text()
    assert "\nrun: $(VENV)/.installed" in recipe and "\t$(BIN)/friction serve\n" in recipe
    text = text.replace("make run", ".venv/bin/friction serve")
    for readme, port in ports.items():  # in URLs, --port and FRICTION_HTTP_PORT alike
        text = re.sub(rf"\b{readme}\b", port, text)
    return text


def environment(ports: dict[str, str]) -> dict[str, str]:
    """A newcomer's shell: no FRICTION_* of the suite's, the tour's port for `friction`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRICTION_")}
    env["FRICTION_HTTP_PORT"] = ports["8080"]
    return env


def run(block: Block, work: Path, ports: dict[str, str]) -> str:
    """Run a terminal-2 block with bash; what it printed (it must succeed). Whatever it left
    running in the background (its process group) is stopped, even when it failed."""
    shell = subprocess.Popen(
        ["bash", "-e", "-o", "pipefail", "-c", localised(block.text, ports)],
        cwd=work, env=environment(ports), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        out, err = shell.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGTERM)
    assert shell.returncode == 0, f"{block.key}\n{out}\n{err}"
    for promise in block.promised():
        assert shows(out, promise), f"README promises {promise!r}, got:\n{out}"
    return out


@pytest.fixture
def terminal_1(work: Path, ports: dict[str, str]) -> Iterator[Path]:
    """The tour's service, started by the README's terminal-1 block; yields its log."""
    log = work / "terminal-1.log"
    with log.open("w") as out:
        service = subprocess.Popen(
            ["bash", "-c", localised(TERMINAL_1, ports)], cwd=work, env=environment(ports),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_for(lambda: ready(ports["8080"]), log)
        yield log
    finally:
        os.killpg(service.pid, signal.SIGTERM)
        service.wait(timeout=30)


def ready(port: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def wait_for(check: Any, log: Path, within_s: float = 60) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.1)


def same_shape(shown: Any, got: Any, where: str = "") -> None:
    """``got`` has the README answer's fields; equal values but for ``VARYING`` ones."""
    if isinstance(shown, dict):
        assert isinstance(got, dict) and set(got) == set(shown), where
        for key, value in shown.items():
            if key in VARYING:
                assert type(got[key]) is type(value), f"{where}.{key}"
            else:
                same_shape(value, got[key], f"{where}.{key}")
    else:
        assert got == shown, where


def test_the_tour_answers_as_the_readme_says(
    work: Path, ports: dict[str, str], terminal_1: Path
) -> None:
    found = {block.key: block for block in blocks()}
    score = found[TOUR[0]]
    assert score.answer is not None
    printed = run(score, work, ports)
    same_shape(json.loads(score.answer), json.loads(printed))
    text = README.read_text()
    console = re.search(r"^`(\[sms → [^`]+)`$", text, re.MULTILINE)
    assert console is not None  # the SMS terminal 1 shows
    wait_for(lambda: console.group(1) in terminal_1.read_text(), terminal_1)
    for key in TOUR[1:]:
        run(found[key], work, ports)
    assert "/docs" in text
    with urllib.request.urlopen(f"http://127.0.0.1:{ports['8080']}/docs/", timeout=10) as docs:
        assert docs.status == 200


def test_the_sms_block_texts_through_the_fake_and_releases(
    work: Path, ports: dict[str, str]
) -> None:
    run({block.key: block for block in blocks()}[SMS], work, ports)
    assert "Traceback" not in (work / "var" / "sms-demo" / "friction.log").read_text()
