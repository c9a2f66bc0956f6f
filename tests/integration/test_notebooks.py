"""Every notebook in notebooks/ runs top to bottom on fresh demo data, and is stored clean.

The demo data comes from the real service (``make_demo_data`` with the suite's tiny
model), so a notebook that breaks on a schema or API change fails here, not in an
analyst's hands.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from friction.analytics.demo import make_demo_data

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))
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


@pytest.mark.timeout(90)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, demo_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRICTION_ANALYTICS_DATA", str(demo_data))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
