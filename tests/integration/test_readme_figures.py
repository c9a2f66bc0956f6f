"""The README's figures are the current ones (issue 19, item 3).

Figures that take seconds are remade here and compared: the ``friction loop`` table (one
run per seed, as the README says), its per-day line and the counts in the sentence under
it, and the bundled model's size. Figures that take minutes to hours (the handbook
benchmark, the backtest sweep, the service bench) name a command and the day measured:
every ``friction`` command the README shows must parse with its options, and the bench
scripts must take the options named.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import statistics
from pathlib import Path
from typing import Any

import pytest

from friction.cli import build_parser, main
from friction.scoring.registry import load_card
from tests.readme import README, ROOT

pytestmark = pytest.mark.timeout(600)
ROW = re.compile(
    r"^\| (\d+)(?: \(default\))? \| (\d+) \| (\d+) · (\d+) \| (\d+) % · (\d+) % \| (\d+) · (\d+) "
    r"\| ([\d.]+) · ([\d.]+) \|$",
    re.MULTILINE,
)


def text() -> str:
    return README.read_text().replace("**", "")


def loop_rows() -> dict[int, tuple[float, ...]]:
    """The loop table: seed → frauds, caught (d, l), value % (d, l), promotions, AP."""
    rows = {int(m.group(1)): tuple(float(g) for g in m.groups()[1:]) for m in ROW.finditer(text())}
    assert 7 in rows and len(rows) >= 5, "the README's loop table moved or changed its layout"
    return rows


def loop_summary(seed: int, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``friction loop --json --seed N``, the command the README names: its last line."""
    assert main(["loop", "--json", "--no-progress", "--seed", str(seed)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result: dict[str, Any] = json.loads(last)
    return result


def test_the_loop_table_is_what_friction_loop_prints_today(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith("FRICTION_")]:
        monkeypatch.delenv(name)  # the README's runs use the default settings
    rows = loop_rows()
    days: dict[str, list[float]] = {}
    for seed, row in rows.items():
        result = loop_summary(seed, capsys)
        d, late = result["summary"]["dialogue"], result["summary"]["delayed"]
        assert row == (
            d["frauds"], d["fraud_caught"], late["fraud_caught"],
            round(d["fraud_value_caught"] * 100), round(late["fraud_value_caught"] * 100),
            d["promotions"], late["promotions"], round(d["ap_last_days"], 3),
            round(late["ap_last_days"], 3),
        ), f"seed {seed}: the README's row is not what `friction loop` prints now"  # fmt: skip
        if seed == 7:
            for arm in ("dialogue", "delayed"):
                days[arm] = [round(r["ap"], 3) for r in result["days"] if r["arm"] == arm]
    for arm, aps in days.items():
        line = re.search(rf"{arm}\s+((?:\d\.\d+,\s+)+\d\.\d+)", text().split("Per day, seed 7")[1])
        assert line is not None
        assert [float(x) for x in re.split(r",\s+", line.group(1))] == aps, arm


def test_the_sentence_under_the_loop_table_counts_its_rows() -> None:
    rows = loop_rows().values()
    more = [r[1] - r[2] for r in rows]
    said = re.search(
        r"catches more frauds on (\d+) \(−(\d+) to \+(\d+), median \+([\d.]+)\) and\s+more of "
        r"their value on (\d+), promotes more often on (\d+), and its served model ends "
        r"with the\s+higher AP on (\d+)",
        text(),
    )
    assert said is not None
    assert [float(g) for g in said.groups()] == [
        sum(m > 0 for m in more), -min(more), max(more), statistics.median(more),
        sum(r[3] > r[4] for r in rows), sum(r[5] > r[6] for r in rows),
        sum(r[7] > r[8] for r in rows),
    ]  # fmt: skip


def test_the_sweep_table_adds_up() -> None:
    """Each stream's "fewer" is its two good-declined counts; the last row is their spread."""
    rows = re.findall(
        r"^\| (sim seed [^|]+|handbook[^|]+) \|[^|]+\|[^|]+\| ([\d,]+) → ([\d,]+) \| ([\d.]+)% \|",
        text(),
        re.MULTILINE,
    )
    assert len(rows) == 11
    fewer = []
    for _, silent, smart in (r[:3] for r in rows):
        fewer.append(
            round(100 * (1 - int(smart.replace(",", "")) / int(silent.replace(",", ""))), 1)
        )
    assert fewer == [float(r[3]) for r in rows]
    spread = re.search(
        r"\| min · median · max \| \| \| \| ([\d.]+)% · ([\d.]+)% · ([\d.]+)% \|", text()
    )
    assert spread is not None
    assert [float(g) for g in spread.groups()] == [min(fewer), statistics.median(fewer), max(fewer)]


def test_the_bundled_model_is_the_size_the_readme_says() -> None:
    said = re.search(r"(\d[\d ]*) trees of depth (\d+), (\d+) features", text())
    assert said is not None
    card = load_card(ROOT / "models")
    trees = json.loads((ROOT / "models" / card.version / "model.json").read_text())
    booster = trees["learner"]["gradient_booster"]["model"]["gbtree_model_param"]
    assert int(said.group(1).replace(" ", "")) == int(booster["num_trees"])
    assert int(said.group(2)) == card.params["max_depth"]
    assert int(said.group(3)) == len(card.feature_names)
    assert f'"model_version":"{card.version}"' in text()  # the tour's answer


def commands() -> list[list[str]]:
    """Every ``friction`` command line of the README, prose and shell blocks, as argv."""
    body = text()
    prose = re.sub(r"^```\w*\n.*?^```\n", "", body, flags=re.MULTILINE | re.DOTALL)
    pieces = [" ".join(m.group(1).split()) for m in re.finditer(r"`([^`]+)`", prose)]
    for block in re.findall(r"^```bash\n(.*?)^```\n", body, re.MULTILINE | re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            pieces += re.split(r"\s[&|;>]+\s|\s#\s", line)
    found = []
    for piece in pieces:
        start = re.search(r"(?:^|\s)(?:\.venv/bin/)?friction\s(.*)", piece)
        if start is None or piece.lstrip().startswith("$"):
            continue
        argv = [t.rstrip(",") for t in shlex.split(start.group(1))]
        found.append(argv[: argv.index("then")] if "then" in argv else argv)
    return found


def test_every_friction_command_in_the_readme_parses() -> None:
    argvs = commands()
    named = {argv[0] for argv in argvs if argv}
    assert {"loop", "backtest", "benchmark", "reply", "serve", "fake-twilio", "train"} <= named
    root = build_parser()
    for argv in argvs:
        parser, rest = root, list(argv)
        while rest and (sub := _subcommand(parser, rest[0])) is not None:
            parser, rest = sub, rest[1:]
        assert parser is not root or not rest or rest[0].startswith("-"), argv
        known = parser._option_string_actions
        unknown = [
            t.split("=")[0] for t in rest if t.startswith("-") and t.split("=")[0] not in known
        ]
        assert unknown == [], f"README: friction {' '.join(argv)}"
        whole = not {"...", "…", "--help"} & set(rest)  # not a summary, not a pointer to --help
        if whole and any(t.startswith("--") for t in rest):
            root.parse_args(argv)  # values too: a full command line must run as written


def _subcommand(parser: Any, name: str) -> Any:
    for action in parser._actions:
        if (
            hasattr(action, "choices")
            and isinstance(action.choices, dict)
            and name in action.choices
        ):
            return action.choices[name]
    return None


def test_the_bench_scripts_take_the_options_the_readme_names() -> None:
    named = re.findall(r"(loadtest/\w+\.py)((?: --[\w-]+)*)", text())
    assert {"loadtest/bench.py", "loadtest/bench_model.py"} <= {path for path, _ in named}
    for path, options in named:
        source = (ROOT / path).read_text()
        for option in options.split():
            assert f'"{option}"' in source, f"{path} has no {option}"
    slow = ["friction benchmark handbook", "--labels dialogue", "loadtest/bench_model.py"]
    for what in slow:  # a slow figure says when it was measured
        at = text().index(what)
        assert re.search(r"measured 20\d\d-\d\d-\d\d", text()[at - 200 : at + 300]), what


def test_the_readme_names_no_path_that_is_not_there() -> None:
    for path in re.findall(r"`((?:docs|tests|scripts|loadtest|friction)/[\w/.-]+\.\w+)`", text()):
        assert (ROOT / path).exists(), path
    assert Path(ROOT / "models" / "CHAMPION").exists()
