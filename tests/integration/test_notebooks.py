"""Every notebook in notebooks/ runs top to bottom on fresh demo data, and is stored clean;
its executed copy in docs/notebooks/ (what a reader of the repository sees) holds the same
code, ran without error and shows its figures.

The demo data comes from the real service (``make_demo_data`` with the suite's tiny
model), so a notebook that breaks on a schema or API change fails here, not in an
analyst's hands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

from friction.analytics.demo import make_demo_data
from friction.analytics.notebooks import execute

ROOT = Path(__file__).parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PUBLISHED = ROOT / "docs" / "notebooks"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Path:
    """A small demo data dir made by the running service (a few seconds)."""
    directory = tmp_path_factory.mktemp("notebook-data") / "demo"
    make_demo_data(directory, seed=7, payments=300, models_dir=models_dir)
    return directory


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "strip outputs"
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "say the question"


def _images(notebook: Any) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


def _errors(notebook: Any) -> list[Any]:
    return [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_draws_its_figures(path: Path, demo_data: Path) -> None:
    notebook = execute(path, demo_data, timeout_s=60)  # CellExecutionError at a failing cell
    assert not _errors(notebook)
    plots = sum("plots." in c.source for c in notebook.cells if c.cell_type == "code")
    assert _images(notebook) >= plots > 0  # a Figure shows as a picture, not "<Figure …>"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_published_copy_holds_the_same_code_with_its_outputs(path: Path) -> None:
    published = PUBLISHED / path.name
    assert published.exists(), "run `make docs-notebooks`"
    source, copy = nbformat.read(path, as_version=4), nbformat.read(published, as_version=4)
    assert [c.source for c in copy.cells] == [c.source for c in source.cells], (
        "docs/notebooks is stale: run `make docs-notebooks`"
    )
    code = [c for c in copy.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code) and not _errors(copy)
    assert _images(copy) >= 1
