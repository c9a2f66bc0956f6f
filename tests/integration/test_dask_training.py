"""``friction train --dask-scheduler`` boosts on a Dask cluster and registers a sensible model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import LocalCluster

from friction.cli import main
from friction.scoring.registry import champion_version, list_versions, load_card, load_model

pytestmark = pytest.mark.slow


@pytest.fixture
def scheduler() -> Iterator[str]:
    """Two in-process workers, one thread each, speaking TCP on loopback as a real cluster does."""
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # None still binds 8787: two suites side by side collide
    ) as cluster:
        yield cluster.scheduler_address


def test_dask_training_registers_a_model_as_good_as_local(
    sim_stream: Path, registry: Path, scheduler: str
) -> None:
    local = champion_version(registry)  # trained in this process on the same stream and split
    argv = ["train", "--data", str(sim_stream), "--models", str(registry), "--rounds", "40"]
    argv += ["--learning-rate", "0.1"]  # as the local model of ``models_dir`` (conftest)
    assert main([*argv, "--promote", "never", "--no-progress", "--dask-scheduler", scheduler]) == 0

    (version,) = set(list_versions(registry)) - {local}
    card, baseline = load_card(registry, version), load_card(registry, local)
    assert card.params["boosted_on"] == "dask" and baseline.params["boosted_on"] == "local"
    assert card.test_start == baseline.test_start and card.rows == baseline.rows
    assert card.metrics["ap"] == pytest.approx(baseline.metrics["ap"], abs=0.05)
    assert card.metrics["auc"] == pytest.approx(baseline.metrics["auc"], abs=0.02)
    assert card.metrics["auc"] > 0.8
    assert champion_version(registry) == local  # --promote never: registered, not served
    assert load_model(registry, version).n_trees >= 10  # the fast evaluator serves it
