"""The lab's pytest plugin as users meet it: the `lab` fixture (by marker or indirect parameter), the helpers,
`--lab-keep`, and cleanup when a session fails or is killed with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.db import cleanup, engine, labels
from lab.db.lab import Lab
from lab.testing import assert_diverged, assert_in_sync, held_appliers, write

FLAVORS = [f for f in os.environ.get("LAB_TEST_FLAVORS", "mysql:9.7,mariadb:10.11").split(",") if f]
USER_TESTS = Path(__file__).resolve().parents[2] / "docs" / "examples" / "user-tests" / "test_my_update.py"


def overlap_then_leader_write(lab: Lab) -> None:
    """The incident in five statements: an overlap on one row, then the leader's next versioned write."""
    write(lab, "dc1", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(9), version BIGINT)",
          "INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 1)")
    with held_appliers(lab):
        write(lab, "dc1", "UPDATE t SET v = 'dc1', version = 2 WHERE id = 1 AND version = 1")
        write(lab, "dc2", "UPDATE t SET v = 'dc2', version = 3 WHERE id = 1 AND version = 1")
    read = lab.primary("dc1").query("SELECT version FROM t WHERE id = 1")[0]["version"]
    write(lab, "dc1", f"UPDATE t SET v = 'app', version = {read + 1} WHERE id = 1 AND version = {read}")


@pytest.mark.parametrize("lab", [{"binlog_format": "STATEMENT", "flavor": f} for f in FLAVORS], indirect=True,
                         ids=FLAVORS)
def test_statement_keeps_the_overlap_row_diverged(lab: Lab) -> None:
    overlap_then_leader_write(lab)
    assert_diverged(lab, "t", [1])
    with pytest.raises(AssertionError, match=r"t: expected the DCs in sync, found \[\(1,\)\] differing"):
        assert_in_sync(lab, "t")


@pytest.mark.parametrize("lab", [{"binlog_format": "ROW", "flavor": f} for f in FLAVORS], indirect=True, ids=FLAVORS)
def test_row_converges_it_with_the_leader_write(lab: Lab) -> None:
    overlap_then_leader_write(lab)
    assert_in_sync(lab, "t")


@pytest.mark.lab(topology="active-passive", binlog_format="ROW")
def test_the_marker_chooses_topology_and_format(lab: Lab) -> None:
    assert "active-passive" in lab.name and sorted(lab.topology.dcs) == ["dc1", "dc2"]
    assert {row["f"] for s in lab.servers.values() for row in s.query("SELECT @@global.binlog_format AS f")} == {"ROW"}
    assert len(lab.links) == 1


def lab_containers(prefix: str) -> dict[str, str]:
    """container -> lab, for the labs whose names start with this session prefix."""
    found = engine.client().containers.list(all=True, filters={"label": labels.LAB})
    return {c.name: c.labels[labels.LAB] for c in found if c.labels.get(labels.LAB, "").startswith(f"{prefix}-")}


def inner_session(tmp_path: Path, prefix: str, *options: str) -> subprocess.Popen:
    """The documented user test file, run by a pytest of its own in a folder outside the repository."""
    (tmp_path / USER_TESTS.name).write_text(USER_TESTS.read_text())
    env = {**os.environ, "LAB_TEST_PREFIX": prefix}
    return subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", USER_TESTS.name,
                             *options], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def test_lab_keep_leaves_the_lab_for_debugging(tmp_path: Path) -> None:
    session = inner_session(tmp_path, "keep", "--lab-keep")
    out, _ = session.communicate(timeout=300)
    assert session.returncode == 0, out
    kept = lab_containers("keep")
    for name in set(kept.values()):
        cleanup.remove_lab(name)
    assert kept, "--lab-keep removed the lab"


def test_sigterm_in_the_middle_of_a_session_removes_its_labs(tmp_path: Path) -> None:
    session = inner_session(tmp_path, "term")
    deadline = time.monotonic() + 120
    while not lab_containers("term") and time.monotonic() < deadline and session.poll() is None:
        time.sleep(0.2)
    assert lab_containers("term"), "the inner session never started its lab"
    session.send_signal(signal.SIGTERM)
    out, _ = session.communicate(timeout=120)
    assert session.returncode != 0, out
    assert lab_containers("term") == {}, out
