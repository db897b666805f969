"""testing: the lab in users' own pytest suites. A pytest plugin (entry point `pytest11`) and the helpers a test needs.

    import pytest
    from lab.testing import assert_diverged, assert_in_sync, held_appliers, write

    @pytest.mark.parametrize("lab", [{"binlog_format": "STATEMENT"}, {"binlog_format": "ROW"}], indirect=True)
    def test_my_update(lab):
        write(lab, "dc1", "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 0)")
        ...

    pool      `LabPool`: one running lab per (topology, flavor), reused by every test and reset between them
    plugin    the fixtures (`lab`, `lab_pool`), the `lab` marker, the command-line options
    helpers   write on a DC, hold the appliers, wait for catch-up, assert in sync or exactly these keys diverged
"""

from lab.testing.helpers import assert_diverged, assert_in_sync, caught_up, diverged_keys, held_appliers, write
from lab.testing.pool import LabPool, LabSpec

__all__ = ["LabPool", "LabSpec", "assert_diverged", "assert_in_sync", "caught_up", "diverged_keys", "held_appliers",
           "write"]
