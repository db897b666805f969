"""One small real run shared by the results, report and notebook tests (made once per pytest session).

Two cells of the incident on one flavor: deterministic (the forced overlap, with held appliers) and
concurrent (real lag, many operations). The runner starts and removes its own lab.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lab.experiment import runner

EXPERIMENT = Path(__file__).resolve().parents[2] / "experiments" / "wix-incident.yaml"
_made: dict[str, Path] = {}


def flavor() -> str:
    """MariaDB when the session tests it (it starts faster and is lighter), else the first tested flavor."""
    flavors = [f for f in os.environ.get("LAB_TEST_FLAVORS", "mysql:9.7,mariadb:10.11").split(",") if f]
    return "mariadb:10.11" if "mariadb:10.11" in flavors else flavors[0]


def selection() -> dict[str, set[str]]:
    return {"flavor": {flavor()}, "topology": {"active-active"}, "binlog_format": {"STATEMENT"},
            "guard": {"strict"}, "mode": {"deterministic", "concurrent"}, "version_order": {"dc1_newer"}}


def real_run(factory: pytest.TempPathFactory) -> Path:
    """The run directory, produced by `lab.experiment.runner.run` the first time it is asked for."""
    if "run" not in _made:
        result = runner.run(EXPERIMENT, only=selection(), results_root=factory.mktemp("real-results"),
                            progress=lambda _message: None)
        failed = [s for s in result.summaries if s.get("status") != "completed"]
        assert result.completed and not failed, f"the real run did not complete: {failed}"
        _made["run"] = result.directory.path
    return _made["run"]
