"""Lanes: how the key space is cut between them, and how their walks are run, reported and added up."""

from __future__ import annotations

import threading
from itertools import pairwise
from types import SimpleNamespace

import pytest

from lab.checker import compare_table
from lab.checker.keyspace import split_span
from lab.checker.lanes import merged_stats, walk_all
from lab.checker.sqlgen import KeyRange
from lab.checker.walk import WalkStats
from lab.cli import entry
from lab.errors import LabError


def test_lanes_cut_the_key_span_evenly_and_stay_open_at_the_ends() -> None:
    assert split_span(1, 100, 4) == [KeyRange(None, (26,)), KeyRange((26,), (51,)), KeyRange((51,), (76,)),
                                     KeyRange((76,), None)]
    assert split_span(-10, 9, 2) == [KeyRange(None, (0,)), KeyRange((0,), None)]
    # too few keys for every lane to get two, an empty table, or one lane asked for: one range, everything
    assert split_span(1, 5, 3) == split_span(None, None, 2) == split_span(1, 100, 1) == [KeyRange()]
    parts = split_span(7, 1_000_003, 7)
    assert len(parts) == 7 and all(a.hi == b.lo for a, b in pairwise(parts))


class FakeWalk:
    """What `walk_all` reads of a walk: run(), how far it is, its chunk size and mode."""

    def __init__(self, keys: set[str], scanned: int, gate: threading.Event | None = None,
                 error: Exception | None = None) -> None:
        self.keys, self.scanned, self.gate, self.error = keys, scanned, gate, error
        self.sizer, self.modes = SimpleNamespace(size=1000), SimpleNamespace(mode="hash")
        self.stats = WalkStats(chunks=2, hash_queries=3, rows_scanned={"dc1": scanned, "dc2": scanned + 1})

    def run(self) -> set[str]:
        if self.gate is not None:
            self.gate.wait(5)
        if self.error is not None:
            raise self.error
        return self.keys

    def found_so_far(self) -> int:
        return len(self.keys)


def test_walk_all_unites_the_keys_reports_progress_over_every_lane_and_adds_up(monkeypatch: pytest.MonkeyPatch
                                                                              ) -> None:
    monkeypatch.setattr("lab.checker.lanes.PROGRESS_EVERY", 0.01)
    gate = threading.Event()
    lines: list[str] = []
    walks = [FakeWalk({"1", "2"}, 10, gate), FakeWalk({"9"}, 20)]
    threading.Timer(0.1, gate.set).start()
    assert walk_all(walks, lines.append, "lab.t", 50) == {"1", "2", "9"}
    assert lines and lines[-1] == ("lab.t: 30/~50 rows compared in 2 lanes, 3 differing key(s) so far, "
                                   "chunk 1000/1000 rows (hash-first)")
    merged = merged_stats(walks)
    assert (merged.chunks, merged.hash_queries, merged.rows_scanned) == (4, 6, {"dc1": 30, "dc2": 32})
    assert merged.leaves == merged.mode_switches == 0
    quiet: list[str] = []
    assert walk_all([FakeWalk({"5"}, 1)], quiet.append, "lab.t", None) == {"5"} and quiet == []   # fast: no lines


def test_a_failing_lane_fails_the_check_without_waiting_for_the_others() -> None:
    gate = threading.Event()
    try:
        with pytest.raises(RuntimeError, match="lane broke"):
            walk_all([FakeWalk(set(), 0, gate), FakeWalk(set(), 0, error=RuntimeError("lane broke"))], None, "t", None)
        assert not gate.is_set()   # the first lane was still running when the error came back
    finally:
        gate.set()


@pytest.mark.parametrize("given", ["0", "-1", "65", "two"])
def test_bad_parallel_is_one_line_naming_the_option_before_any_connection(
        given: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Port 1 on loopback: a check that got as far as connecting would fail differently."""
    with pytest.raises(SystemExit) as exited:
        entry(["check", "--dc", "dc1=mysql://app@127.0.0.1:1/shop", "--dc", "dc2=mysql://app@127.0.0.1:1/shop",
               "--table", "t", "--parallel", given])
    error = capsys.readouterr().err.strip()
    assert exited.value.code == 2 and len(error.splitlines()) == 1 and "--parallel" in error, error
    assert "connect" not in error


def test_compare_table_refuses_no_lanes_before_connecting() -> None:
    """API callers get the parameter's own name; no endpoint is needed to be refused."""
    with pytest.raises(LabError, match=r"parallel=0, give 1 or more"):
        compare_table({}, "lab.t", parallel=0)
