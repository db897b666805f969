"""A team's own test: does our optimistic-locking UPDATE survive an active-active overlap? (uses the lab plugin)"""
import pytest

from lab.testing import assert_diverged, held_appliers, write

CASES = [({"topology": "active-active", "binlog_format": "STATEMENT"}, [1]),   # diverges for good
         ({"topology": "active-active", "binlog_format": "ROW"}, [])]          # the leader's write converges it


@pytest.mark.parametrize(("lab", "diverged"), CASES, indirect=["lab"])
def test_our_versioned_update(lab, diverged):
    write(lab, "dc1", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(9), version BIGINT)",
          "INSERT INTO t VALUES (1, 'a', 1)")
    with held_appliers(lab):   # both DCs take writes without seeing each other: the overlap
        write(lab, "dc1", "UPDATE t SET v = 'dc1', version = 2 WHERE id = 1 AND version = 1")
        write(lab, "dc2", "UPDATE t SET v = 'dc2', version = 3 WHERE id = 1 AND version = 1")
    read = lab.primary("dc1").query("SELECT version FROM t WHERE id = 1")[0]["version"]
    write(lab, "dc1", f"UPDATE t SET v = 'app', version = {read + 1} WHERE id = 1 AND version = {read}")
    assert_diverged(lab, "t", diverged)
