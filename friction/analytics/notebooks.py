"""Run the analysts' notebooks top to bottom, and publish executed copies with their figures.

``notebooks/`` holds them without outputs, so a diff shows the code that changed and not a
wall of base64; ``docs/notebooks/`` holds the same notebooks executed on demo data, so a
reader of the repository sees every table and figure without running anything (GitHub
renders them). ``make docs-notebooks`` rewrites the copies; the test suite executes the
sources on fresh demo data and checks that the copies hold the same code.

    python -m friction.analytics.notebooks --data var/docs-demo --out docs/notebooks

Needs the ``notebooks`` extra (JupyterLab, nbclient, ipykernel).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

SOURCES = Path(__file__).resolve().parents[2] / "notebooks"
DATA_VARIABLE = "FRICTION_ANALYTICS_DATA"
"""What the notebooks read their data folder from (``../var/demo`` without it)."""


def execute(path: Path, data: Path, timeout_s: float = 120.0) -> Any:
    """The notebook at ``path`` run on the events at ``data``: a NotebookNode with outputs
    (raises ``CellExecutionError`` at the first failing cell)."""
    notebook = nbformat.read(path, as_version=4)
    previous = {name: os.environ.get(name) for name in (DATA_VARIABLE, "MPLBACKEND")}
    os.environ[DATA_VARIABLE] = str(data.resolve())
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        client = NotebookClient(
            notebook, timeout=int(timeout_s), kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )  # fmt: skip
        client.execute()
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    for cell in notebook.cells:  # no run timestamps: the copies change only when results do
        cell.get("metadata", {}).pop("execution", None)
    return notebook


def publish(data: Path, out: Path, sources: Path = SOURCES) -> list[Path]:
    """Execute every notebook of ``sources`` on ``data`` and write it, outputs kept, to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(sources.glob("*.ipynb")):
        target = out / path.name
        nbformat.write(execute(path, data), target)
        written.append(target)
    return written


def main() -> int:
    """``python -m friction.analytics.notebooks --data DIR --out DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="demo data (friction demo-data)")
    parser.add_argument("--out", type=Path, default=Path("docs/notebooks"), help="where to write")
    args = parser.parse_args()
    for path in publish(args.data, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
