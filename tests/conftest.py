"""Project-wide test settings. Integration tests take their labs from the lab's own pytest plugin (lab.testing:
`lab_pool`, one running lab per topology and flavor for the session, reset between uses), as users do."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

FLAVORS = [f for f in os.environ.get("LAB_TEST_FLAVORS", "mysql:9.7,mariadb:10.11").split(",") if f]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.docker)


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("LAB_STATE_DIR", os.path.join(str(config.rootpath), ".lab", "test-state"))
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    os.environ.setdefault("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")


@pytest.fixture(params=FLAVORS)
def flavor(request: pytest.FixtureRequest) -> str:
    return request.param


def load_benchmark(name: str) -> ModuleType:
    """Import benchmarks/<name>.py, a script and not a package module (its dataclasses look it up by name)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "benchmarks" /
                                                  f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def junit_xsd() -> Path:
    """The common JUnit schema CI systems read (Jenkins' junit-10.xsd, MIT), as pytest's own sdist carries it for
    its tests. It is fetched from PyPI, not committed: the project ships no third-party file."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mysql-replication-lab" / "junit"
    target = cache / "junit-10.xsd"
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                               "-d", str(cache), f"pytest=={pytest.__version__}"], capture_output=True, text=True)
        sdists = sorted(cache.glob("pytest-*.tar.gz"))
        if not sdists:
            pytest.fail(f"could not fetch pytest's sdist for junit-10.xsd from PyPI: {done.stderr.strip()[-300:]}")
        with tarfile.open(sdists[-1]) as archive:
            member = next(m for m in archive.getmembers() if m.name.endswith("/junit-10.xsd"))
            target.write_bytes(archive.extractfile(member).read())  # type: ignore[union-attr]
    return target


NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "divergence_analysis.ipynb"


@pytest.fixture
def run_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Execute the analysis notebook headless with this interpreter as its kernel; returns its code outputs.
    `results`: LAB_RESULTS_DIR (None: unset, so the notebook picks its own source); `cwd`: where it runs."""
    import nbformat
    from nbclient import NotebookClient

    kernels = tmp_path / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({  # this interpreter, whatever kernels the machine has
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "lab tests", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))

    def execute(results: Path | None, cwd: Path = NOTEBOOK.parent) -> list[Any]:
        if results is None:
            monkeypatch.delenv("LAB_RESULTS_DIR", raising=False)
        else:
            monkeypatch.setenv("LAB_RESULTS_DIR", str(results))
        notebook = nbformat.read(NOTEBOOK, as_version=4)
        client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd)}})
        client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
        outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
        assert not [o for o in outputs if o.output_type == "error"]
        return outputs

    return execute
