"""The analysis notebook runs top to bottom, headless, against the results of a real run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from real_results import real_run, real_workload_run

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "divergence_analysis.ipynb"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return real_run(tmp_path_factory)


@pytest.fixture(scope="module")
def workload_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return real_workload_run(tmp_path_factory)


def test_notebook_is_stored_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_notebook_runs_against_a_real_run(run_dir: Path, workload_dir: Path,
                                          run_notebook: Callable[..., list[Any]]) -> None:
    """Pointed at a results directory holding an incident run and a workload run, it draws both."""
    assert run_dir.parent == workload_dir.parent
    outputs = run_notebook(run_dir.parent)
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 6, "expected the heatmap, the trade-off, a timeline, the per-check chart, and the " \
                             "workload scorecard and lost-update attribution"
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert run_dir.name in printed and workload_dir.name in printed
