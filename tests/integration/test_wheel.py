"""The whole user path from a wheel, outside the checkout: build, install into a fresh venv, validate, run a few
cells with --junit, run a third-party workload package, and pass a user's own pytest file that uses the plugin.

Marked `wheel` (it builds and installs; about two minutes): `pytest -m "not wheel"` leaves it out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
import pytest
import xmlschema

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
ONLY = "mode=deterministic,version_order=dc1_newer,topology=active-passive,flavor=mariadb:10.11,guard=strict"


class UserMachine:
    """A fresh venv in a temporary folder, with the lab installed from its wheel, and a working folder."""

    def __init__(self, root: Path) -> None:
        self.root, self.work = root, root / "work"
        self.work.mkdir()
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        self.env["LAB_TEST_PREFIX"] = "wheel"   # never the name of a lab of the project's own session

    def shell(self, *argv: str | Path, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run([str(a) for a in argv], cwd=cwd or self.work, env=self.env, capture_output=True,
                              text=True, timeout=900)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, argv))} exited {done.returncode}:\n{done.stdout[-3000:]}\n"
                                 f"{done.stderr[-3000:]}")
        return done

    def bin(self, name: str) -> Path:
        return self.root / "venv" / "bin" / name


def _not_sources(folder: str, names: list[str]) -> set[str]:
    """What a checkout holds beyond its sources: the venv, git, caches, and at the top the lab's own outputs."""
    skipped = {n for n in names if n in (".venv", ".git", "__pycache__") or n.endswith((".egg-info", "_cache"))}
    if Path(folder) == ROOT:
        skipped |= {n for n in names if n in (".lab", "results", "build", "dist")}
    return skipped


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory) -> UserMachine:
    machine = UserMachine(tmp_path_factory.mktemp("user"))
    dist = machine.root / "dist"
    source = machine.root / "source"   # a copy, so the build writes nothing into the checkout
    shutil.copytree(ROOT, source, ignore=_not_sources)
    # an sdist, then the wheel built from that sdist: both must carry the shipped files
    machine.shell(sys.executable, "-m", "build", "--outdir", dist, source, cwd=machine.root)
    venv.create(machine.root / "venv", with_pip=True)
    (wheel,) = dist.glob("*.whl")
    machine.shell(machine.bin("pip"), "install", "-q", wheel, "pytest")
    return machine


def test_the_installed_lab_is_the_wheel_not_the_checkout(user: UserMachine) -> None:
    where = user.shell(user.bin("python"), "-c", "import lab; print(lab.__file__)").stdout.strip()
    assert str(user.root / "venv") in where and str(ROOT) not in where


def shipped_sample_path(user: UserMachine) -> str:
    return user.shell(user.bin("python"), "-c", "from lab import shipped; print(shipped.sample_results())").stdout


def test_shipped_files_by_name_and_lab_init(user: UserMachine) -> None:
    done = user.shell(user.bin("lab"), "validate", "wix-incident", "active-active")
    assert "wix-incident.yaml (kind experiment (incident), cells 216)" in done.stdout
    assert "/site-packages/lab/_shipped/experiments/" in done.stdout
    user.shell(user.bin("lab"), "init", "mine")
    assert (user.work / "mine" / "experiments" / "wix-incident.yaml").exists()
    assert (user.work / "mine" / "topologies" / "ring-3.yaml").exists()
    notebook = user.shell(user.bin("python"), "-c", "from lab import shipped; print(shipped.directory('notebooks'))")
    assert list(Path(notebook.stdout.strip()).glob("*.ipynb"))
    sample = user.shell(user.bin("python"), "-c", "from lab import results, shipped; "
                        "print(len(results.load(shipped.sample_results()).cells))")
    assert "/site-packages/" in shipped_sample_path(user) and int(sample.stdout.strip()) == 20   # 18 + 2 cells


def test_run_a_few_cells_with_junit(user: UserMachine) -> None:
    user.shell(user.bin("lab"), "run", "wix-incident", "--only", ONLY, "--junit", "junit.xml", "--no-plots",
               "--results", "results")
    root = ElementTree.parse(user.work / "junit.xml").getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "0", "0")
    cells = pd.read_csv(next((user.work / "results").iterdir()) / "cells.csv")
    assert list(cells["status"]) == ["completed"] * 3


def test_a_failing_expect_is_a_junit_failure(user: UserMachine, junit_xsd: Path) -> None:
    done = user.shell(user.bin("lab"), "run", "wix-incident", "--only", f"{ONLY},binlog_format=STATEMENT",
                      "--expect", "stuck_rows==0", "--junit", "failing.xml", "--no-plots", "--results", "results",
                      check=False)
    assert done.returncode == 1, done.stderr
    xmlschema.XMLSchema(junit_xsd).validate(user.work / "failing.xml")
    (case,) = ElementTree.parse(user.work / "failing.xml").getroot().iter("testcase")
    runs = sorted((user.work / "results").iterdir())
    stuck = int(pd.read_csv(runs[-1] / "cells.csv")["stuck_rows"].iloc[0])   # what the servers did
    assert stuck > 0 and case.find("failure") is not None
    assert case.find("failure").get("message") == f"{case.get('name')}: stuck_rows={stuck}"


def test_a_workload_from_another_package_runs(user: UserMachine) -> None:
    package = user.root / "lab-counter"   # a copy: pip builds in the folder it is given
    shutil.copytree(EXAMPLES / "lab-counter", package, ignore=_not_sources)
    user.shell(user.bin("pip"), "install", "-q", package)
    experiment = user.work / "counter-overlap.yaml"
    shutil.copy(EXAMPLES / "lab-counter" / "lab_counter" / "counter-overlap.yaml", experiment)
    user.shell(user.bin("lab"), "run", experiment, "--no-plots", "--results", "counter-results")
    cells = pd.read_csv(next((user.work / "counter-results").iterdir()) / "cells.csv")
    assert set(cells["workload"]) == {"counter"} and list(cells["status"]) == ["completed"] * 2
    assert "inv_every_increment_counted" in cells.columns and "increments" in cells.columns


def test_a_users_own_pytest_file_passes(user: UserMachine) -> None:
    tests = user.work / "their-tests"
    tests.mkdir()
    shutil.copy(EXAMPLES / "user-tests" / "test_my_update.py", tests)
    done = user.shell(user.bin("python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", tests, cwd=tests)
    assert "2 passed" in done.stdout, done.stdout
