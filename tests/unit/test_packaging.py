"""The package as a wheel carries it: every subpackage, the shipped files, the licence, the public API."""

from __future__ import annotations

import sys
from pathlib import Path

import tomllib

import lab
from lab import shipped

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_subpackage_is_listed_for_the_wheel() -> None:
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "lab").rglob("__init__.py")}
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert found == {name for name in listed if not name.startswith("lab._shipped")}


def test_the_shipped_folders_are_mapped_into_the_package() -> None:
    mapping = PYPROJECT["tool"]["setuptools"]["package-dir"]
    for kind in shipped.KINDS:
        assert mapping[f"lab._shipped.{kind}"] == kind
        assert (ROOT / kind).is_dir() and list((ROOT / kind).iterdir())
        assert f"lab._shipped.{kind}" in PYPROJECT["tool"]["setuptools"]["package-data"]


def test_a_checkout_finds_shipped_files_by_name(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert shipped.find("experiments", "wix-incident") == ROOT / "experiments" / "wix-incident.yaml"
    assert shipped.find("topologies", "active-active.yaml") == ROOT / "topologies" / "active-active.yaml"
    assert not shipped.find("topologies", "no-such-topology").exists()


def test_init_copies_and_a_copy_wins_over_the_shipped_file(tmp_path: Path, monkeypatch) -> None:
    copied = shipped.init(tmp_path)
    assert {p.name for p in copied} >= {"wix-incident.yaml", "active-active.yaml"}
    (tmp_path / "topologies" / "active-active.yaml").write_text("# edited\n")
    assert shipped.init(tmp_path) == []                       # nothing is overwritten
    assert (tmp_path / "topologies" / "active-active.yaml").read_text() == "# edited\n"
    monkeypatch.chdir(tmp_path)
    assert shipped.find("topologies", "active-active") == Path("topologies/active-active.yaml")


def test_licence_file_and_typing_marker() -> None:
    assert PYPROJECT["project"]["license"]["text"] == "Apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]
    assert (ROOT / "lab" / "py.typed").exists()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["lab"]


def test_the_public_api_is_exported_and_lazy() -> None:
    assert sorted(lab.__all__) == sorted(lab._EXPORTS)
    for name in lab.__all__:
        assert getattr(lab, name) is not None, name
    assert callable(lab.run_experiment) and callable(lab.compare_table) and callable(lab.load_topology)
    assert lab.load_topology("active-active").name == "active-active"


def test_importing_lab_loads_no_heavy_dependency() -> None:
    import subprocess

    code = "import sys, lab; print(sorted(m for m in ('pandas', 'docker', 'pymysql') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"


def test_benchmark_only_dependencies_are_an_extra() -> None:
    dependencies = " ".join(PYPROJECT["project"]["dependencies"])
    assert "testcontainers" not in dependencies
    assert any("testcontainers" in d for d in PYPROJECT["project"]["optional-dependencies"]["bench"])
