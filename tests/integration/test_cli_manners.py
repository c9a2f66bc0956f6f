"""Every command behaves as a newcomer expects (issue 19, items 1 and 5).

A busy port, a missing file, a folder already full or a missing model end in one line
on stderr and exit 2, never a traceback; ``--help`` shows every default and fits 80
columns; tables fit 80 columns; ``demo-data`` and ``report`` print what they made,
not an access log or matplotlib's chatter; ``train`` prints counts as integers.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from friction.benchmark.dialogue import Spent
from friction.benchmark.dialogue_run import ARMS, ArmResult, DialogueReport
from friction.benchmark.protocol import Fold
from friction.benchmark.runner import BenchmarkReport, FoldResult, Scores
from friction.cli import build_parser, main
from friction.cli.benchmark import render, render_dialogue
from tests.servers import free_port

pytestmark = pytest.mark.timeout(120)


def friction(
    *argv: str, cwd: Path, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m friction ARGV`` with only the given FRICTION_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FRICTION_")}
    clean.update(COLUMNS="80", **env)
    return subprocess.run(
        [sys.executable, "-m", "friction", *argv],
        cwd=cwd, env=clean, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a command that failed as expected (exit 2)."""
    assert done.returncode == 2, done.stderr[-2000:]
    return only_line(done.stderr, done.stdout)


def only_line(stderr: str, stdout: str) -> str:
    """The one ``error: …`` line on stderr, with no traceback anywhere."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr[-2000:]
    assert "Traceback" not in stderr + stdout
    return lines[0]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another process listens on."""
    with socket.create_server(("127.0.0.1", 0)) as holder:
        yield holder.getsockname()[1]


def test_a_busy_port_is_one_line_naming_the_port_and_how_to_change_it(
    tmp_path: Path, taken_port: int
) -> None:
    shared = {"FRICTION_STORE": "redis://127.0.0.1:1/0", "FRICTION_BUS": "kafka://127.0.0.1:1"}
    runs = {
        "serve": friction("serve", cwd=tmp_path, FRICTION_HTTP_PORT=str(taken_port)),
        "serve --port": friction("serve", "--port", str(taken_port), cwd=tmp_path),
        "serve --workers": friction(
            "serve", "--workers", "2", "--port", str(taken_port), cwd=tmp_path, **shared
        ),
    }
    for name, done in runs.items():
        line = one_line_error(done)
        assert f"127.0.0.1:{taken_port}" in line and "already in use" in line, name
        assert "FRICTION_HTTP_PORT=" in line and "--port" in line, name
    assert not (tmp_path / "var").exists()  # refused before the store or the log was opened

    fake = one_line_error(friction("fake-twilio", "--port", str(taken_port), cwd=tmp_path))
    assert f"127.0.0.1:{taken_port}" in fake and "--port" in fake


def test_expected_failures_are_one_line(
    tmp_path: Path, models_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "full" / "events").mkdir(parents=True)
    (tmp_path / "full" / "events" / "decisions.jsonl").write_text("")
    cases = {
        ("train", "--data", "missing.jsonl"): "missing.jsonl not found",
        ("report", "--data", "missing"): "no decisions events under missing",
        ("backtest", "--data", "missing.jsonl"): "missing.jsonl not found",
        ("simulate", "--out", "/proc/no/such.jsonl", "--days", "1"): "/proc/no",
        ("demo-data", "--out", "full", "--models", str(models_dir)): "add --force",
        ("benchmark", "handbook", "--data", "missing"): "missing",
    }
    for argv, expected in cases.items():
        assert main(list(argv)) == 2, argv
        out = capsys.readouterr()
        assert expected in only_line(out.err, out.out), argv
    port = str(free_port())  # the service itself, in its own process
    no_model = friction("serve", "--port", port, cwd=tmp_path, FRICTION_MODELS_DIR="nowhere")
    assert "no champion model in nowhere" in one_line_error(no_model)


def subcommands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser under ``friction`` (``benchmark handbook`` included), by its name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from subcommands(sub)


def test_every_help_shows_its_defaults_and_fits_80_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # what argparse wraps to
    root = build_parser()
    found = dict(subcommands(root))
    assert {"serve", "reply", "loop", "train", "benchmark", "handbook", "fake-twilio"} <= set(found)
    for name, parser in [("friction", root), *found.items()]:
        formatter = parser._get_formatter()
        for action in parser._actions:
            value = action.default
            if value is None or value is False or value == [] or value == argparse.SUPPRESS:
                continue
            shown = formatter._get_help_string(action) or ""
            assert "default" in shown, f"{name} {action.option_strings}: no default in --help"
        too_long = [line for line in parser.format_help().splitlines() if len(line) > 80]
        assert too_long == [], name
    assert "(default: 10)" in found["loop"].format_help()  # --days
    done = friction("loop", "--help", cwd=tmp_path)  # and so the command prints it
    assert done.returncode == 0 and "(default: 10)" in done.stdout


def test_the_handbook_tables_fit_80_columns_with_every_digit() -> None:
    folds = [
        FoldResult(Fold(17702 + 7 * i), 400_000, 66_500, 580,
                   Scores(0.8871, 0.7062, 0.2861), Scores(0.8932, 0.7561, 0.2911))
        for i in range(4)
    ]  # fmt: skip
    report = BenchmarkReport("validation", folds, 209.0)
    spent = Spent(584_546, 19_500, 1_200, 18_000, 19_500, 1_500)
    arms = [
        ArmResult(name, d, [Scores(0.894, 0.757, 0.291)] * 4, spent) for name, d in ARMS.items()
    ]
    console = Console(width=80, record=True, color_system=None)
    console.print(render(report))
    console.print(render_dialogue(report, DialogueReport(arms, 708.0)))
    text = console.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "± 0.000" in text and "dialogue+discovery-5%" in text and "19,500/1,500" in text


def test_train_prints_counts_as_integers(tmp_path: Path, sim_stream: Path) -> None:
    done = friction(
        "train", "--data", str(sim_stream), "--models", "models", "--rounds", "5",
        "--learning-rate", "0.3", "--no-progress", cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if "│" in line}
    frauds = rows["test_frauds"].split("│")[2].strip()
    assert frauds.replace(",", "").isdigit(), rows["test_frauds"]
    assert "." not in rows["test_rows"] and "." in rows["ap"]


def test_demo_data_and_report_print_what_they_made_and_nothing_else(
    tmp_path: Path, models_dir: Path
) -> None:
    demo = friction(
        "demo-data", "--out", "demo", "--payments", "60", "--models", str(models_dir),
        cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert demo.stderr == ""  # no access log, no start-up lines of the in-process service
    assert demo.stdout.lstrip().startswith("{") and '"payments": 60' in demo.stdout
    report = friction("report", "--data", "demo", "--out", "r.html", cwd=tmp_path, timeout=120)
    assert report.returncode == 0, report.stderr[-2000:]
    assert report.stderr == "" and report.stdout.strip() == "report written to r.html"
    assert (tmp_path / "r.html").stat().st_size > 10_000
