"""``friction benchmark handbook`` end to end on a small generated stream."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from friction.cli.benchmark import register
from tests.unit._handbook_stream import write_handbook_csv


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="friction")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("handbook")
    write_handbook_csv(directory / "transactions-2018.csv.gz", days=122)  # April to July
    return directory


def test_json_is_the_last_line(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    argv = ["benchmark", "handbook", "--data", str(data_dir), "--json", "--cache-dir", str(cache)]
    assert run(argv) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    report = json.loads(last)
    assert set(report["baseline"]) == set(report["friction"]) == {"auc", "ap", "cp100"}
    assert report["folds"][0]["train_start"] == "2018-06-20"
    assert len(report["folds"]) == 4
    assert len(list(cache.iterdir())) == 1


def test_test_protocol_without_its_months_is_refused(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["benchmark", "handbook", "--data", str(data_dir), "--protocol", "test"]) == 2
    assert "missing days" in capsys.readouterr().err


def test_dialogue_labels_add_a_key_and_keep_the_others(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    argv = ["benchmark", "handbook", "--data", str(data_dir), "--json", "--cache-dir", str(cache)]
    assert run([*argv, "--labels", "dialogue"]) == 0
    out = capsys.readouterr().out
    assert "Dialogue labels (a separate run)" in out
    report = json.loads(out.strip().splitlines()[-1])
    assert {"baseline", "friction", "folds", "dialogue"} <= set(report)
    arms = report["dialogue"]["arms"]
    assert set(arms) == {"dialogue", "dialogue+discovery-1%", "dialogue+discovery-5%"}
    for arm in arms.values():
        assert set(arm["mean"]) == {"auc", "ap", "cp100"}
        assert len(arm["folds"]) == 4
        assert arm["spent"]["payments"] > 0
    discovery = arms["dialogue+discovery-5%"]["spent"]
    assert discovery["challenges"] >= discovery["discovery_challenges"] > 0
    assert arms["dialogue"]["spent"]["discovery_challenges"] == 0
    assert len(list(cache.iterdir())) == 4  # the 7-day schedule and one per arm
