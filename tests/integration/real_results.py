"""Small real runs shared by the results, report and notebook tests (made once per pytest session).

The incident: two cells on one flavor, deterministic (the forced overlap, with held appliers) and
concurrent (real lag, many operations). A workload: one order-state-machine cell, in the same results
directory, so the notebook finds both. The runner starts and removes its own lab.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lab.runner import run_experiment

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
EXPERIMENT = EXPERIMENTS / "wix-incident.yaml"
WORKLOAD_EXPERIMENT = EXPERIMENTS / "order-state-machine.yaml"
_made: dict[str, Path] = {}


def flavor() -> str:
    """MariaDB when the session tests it (it starts faster and is lighter), else the first tested flavor."""
    flavors = [f for f in os.environ.get("LAB_TEST_FLAVORS", "mysql:9.7,mariadb:10.11").split(",") if f]
    return "mariadb:10.11" if "mariadb:10.11" in flavors else flavors[0]


def selection() -> dict[str, set[str]]:
    return {"flavor": {flavor()}, "topology": {"active-active"}, "binlog_format": {"STATEMENT"},
            "guard": {"strict"}, "mode": {"deterministic", "concurrent"}, "version_order": {"dc1_newer"}}


def results_root(factory: pytest.TempPathFactory) -> Path:
    if "root" not in _made:
        _made["root"] = factory.mktemp("real-results")
    return _made["root"]


def _run_once(name: str, experiment: Path, only: dict[str, set[str]], factory: pytest.TempPathFactory) -> Path:
    if name not in _made:
        result = run_experiment(experiment, only=only, results_root=results_root(factory),
                                progress=lambda _message: None)
        failed = [s for s in result.summaries if s.get("status") != "completed"]
        assert result.completed and not failed, f"the real run did not complete: {failed}"
        _made[name] = result.directory.path
    return _made[name]


def real_run(factory: pytest.TempPathFactory) -> Path:
    """The incident run directory, produced by `lab.runner.run_experiment` the first time it is asked for."""
    return _run_once("run", EXPERIMENT, selection(), factory)


def real_workload_run(factory: pytest.TempPathFactory) -> Path:
    """One cell of the order state machine, where both DCs act with every applier held."""
    only = {"flavor": {flavor()}, "binlog_format": {"STATEMENT"}, "guard": {"strict"}, "mode": {"deterministic"},
            "validation": {"app"}, "retries": {"0"}}
    return _run_once("workload", WORKLOAD_EXPERIMENT, only, factory)
