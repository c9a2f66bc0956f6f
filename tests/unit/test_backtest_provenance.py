"""What the champion was trained on: recorded on its card, and a backtest refuses to replay it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from friction.cli import main
from friction.offline.dataset import read_lines
from friction.scoring.registry import (
    POLICY_FILE,
    SKETCH_SIZE,
    ModelCard,
    load_card,
    load_policy,
    payments_sketch,
    shared_payments,
)
from friction.simulation import SimConfig, write_stream


def test_the_sketch_finds_shared_payments_and_never_invents_them() -> None:
    ids = [f"pay_{n}" for n in range(20_000)]
    ts = [1.8e9 + n for n in range(20_000)]
    sketch = payments_sketch(ids, ts)
    assert len(sketch) == SKETCH_SIZE == len(set(sketch))
    card = ModelCard(version="v1", created_at=datetime.now(UTC), payments_sketch=sketch)
    assert shared_payments(card, ids[5000:], ts[5000:]) > 0  # a quarter of the data replayed
    assert shared_payments(card, ids, [t + 1 for t in ts]) == 0  # same ids, other payments
    others = [f"other_{n}" for n in range(20_000)]
    assert shared_payments(card, others, ts) == 0


def test_training_records_its_payments_and_the_policy_fitted_on_its_hold_out(
    models_dir: Path,
) -> None:
    card = load_card(models_dir)
    assert len(card.payments_sketch) == SKETCH_SIZE
    assert (models_dir / card.version / POLICY_FILE).is_file()
    fit = load_policy(models_dir)
    assert fit.rows == card.rows["test"] and fit.frauds > 0
    assert fit.window_start is not None and card.train_end is not None
    assert fit.window_start > card.train_end  # the hold-out: the model never trained on it


def test_a_backtest_refuses_the_champions_own_training_data(
    models_dir: Path, sim_stream: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["backtest", "--models", str(models_dir), "--no-progress", "--fit-days", "3"]
    assert main([*base, "--data", str(sim_stream)]) == 2
    assert "very file" in capsys.readouterr().err
    tail = tmp_path / "tail.jsonl"  # the last days of it, cut out: other bytes, same payments
    lines = sim_stream.read_bytes().splitlines(keepends=True)
    tail.write_bytes(b"".join(lines[len(lines) // 2 :]))
    assert main([*base, "--data", str(tail)]) == 2
    assert "shares payments" in capsys.readouterr().err
    assert main([*base, "--data", str(tail), "--allow-overlap", "--json"]) == 0
    out = capsys.readouterr().out
    assert "shares payments" in orjson.loads(out.splitlines()[-1])["overlap_warning"]


def test_a_stream_the_champion_never_saw_is_replayed_after_its_fit_window(
    models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    end = load_card(models_dir).test_end
    assert end is not None
    fresh = tmp_path / "fresh.jsonl"
    start = end.date() + timedelta(days=1)
    write_stream(SimConfig(seed=99, days=6, customers=150, start=start), fresh)
    args = ["backtest", "--data", str(fresh), "--models", str(models_dir), "--fit-days", "2",
            "--no-progress", "--json"]  # fmt: skip
    assert main(args) == 0
    result = orjson.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["overlap_warning"] is None
    rows = sum(1 for _ in read_lines(fresh))
    assert result["fit"]["rows"] + result["policies"][2]["payments"] == rows
    assert result["fit"]["window_start"][:10] == start.isoformat()
    assert set(result["breakdown"]) >= {"channel:ecom", "channel:pos"}
    smart = result["breakdown"]["channel:pos"]["smart friction"]
    assert smart["friction_rate"] >= 0 and smart["max_challenges_per_customer"] <= 3


def test_the_sweep_compares_every_world_and_prints_the_spread(
    models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["backtest", "--sweep", "--models", str(models_dir), "--seeds", "1,2",
            "--sizes", "4x80,5x100", "--fit-days", "2", "--no-progress", "--json"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    payload = orjson.loads(out.splitlines()[-1])
    assert len(payload["streams"]) == 4
    assert {s["stream"] for s in payload["streams"]} == {
        f"sim seed {seed} · {days} d · {n} customers"
        for seed in (1, 2) for days, n in ((4, 80), (5, 100))
    }  # fmt: skip
    fewer = [s["target"]["fewer_good_declined"] for s in payload["streams"]]
    spread = payload["spread"]["fewer_good_declined"]
    assert (spread["min"], spread["max"]) == (min(fewer), max(fewer))
    assert "median" in out and "where the worst stream loses" in out
    end = load_card(models_dir).test_end
    assert end is not None
    assert all(s["fit"]["window_start"] > end.isoformat() for s in payload["streams"])


def test_bad_sweep_arguments_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["backtest", "--sweep", "--sizes", "30by2000"])
    assert "DAYSxCUSTOMERS" in capsys.readouterr().err
    assert main(["backtest"]) == 2
    assert "--data, --handbook or --sweep" in capsys.readouterr().err
