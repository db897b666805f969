"""Verdicts from hand-made evidence: counts over the history, and stuck / untouched / healed rows."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pandas as pd

from lab.results.schema import FixVerdict, RowVerdict
from lab.runner.outcome import RowVerdicts
from lab.verdicts import counts


def op(seq: int, kind: str, key: str, rows: int | None = 1, error: str | None = None, **fields: Any) -> dict:
    return {"seq": seq, "type": "op", "kind": kind, "table": "users", "key": key, "rows_affected": rows,
            "error": error, **fields}


def test_rejected_writes_are_guarded_updates_and_deletes_that_matched_nothing() -> None:
    operations = [op(1, "update", "1", 0), op(2, "delete", "2", 0), op(3, "update", "3", 1),
                  op(4, "update", "4", None, "1213: Deadlock"), op(5, "insert", "5", 0), op(6, "read", "1", None)]
    assert counts.rejected_writes(operations) == 2
    assert counts.operation_errors(operations) == {"operation_errors": 1, "operation_errors_by_code": {"1213": 1}}


def test_a_version_regression_is_a_successful_write_below_the_version_it_read() -> None:
    operations = [op(1, "update", "1", read_version=100, new_version=90),
                  op(2, "update", "1", 0, read_version=100, new_version=90),   # matched nothing: not a regression
                  op(3, "update", "1", read_version=100, new_version=110), op(4, "update", "1")]
    assert counts.version_regressions(operations) == 1


def test_conflicting_rows_are_those_every_writing_dc_changed_in_the_overlap() -> None:
    operations = [op(1, "update", "1", dc="dc1", phase="overlap"), op(2, "update", "1", dc="dc2", phase="overlap"),
                  op(3, "update", "2", dc="dc1", phase="overlap"), op(4, "update", "2", 0, dc="dc2", phase="overlap"),
                  op(5, "update", "3", dc="dc2", phase="leader_after")]
    assert counts.overlap(operations) == {"overlap_updates": 4, "overlap_updates_applied": 3, "conflicting_rows": 1}
    assert counts.overlap(operations, phase="traffic") == dict.fromkeys(
        ("overlap_updates", "overlap_updates_applied", "conflicting_rows"))
    assert counts.written_keys(operations, after_seq=2, before_seq=5) == {("users", "2")}


def stand_in_cell(checks: dict[str, set[str]], seqs: dict[str, int], operations: list[dict], probed: set[str] | None,
                  story: str, fixed: bool = False) -> Any:
    frames = {name: pd.DataFrame({"table": ["users"] * len(keys), "key": sorted(keys)})
              for name, keys in checks.items()}
    cell = SimpleNamespace(checks=frames, check_seq=seqs, story_check=story, fixed=fixed,
                           probed={} if probed is None else {"probe": {("users", k) for k in probed}},
                           history=SimpleNamespace(operations=lambda: operations))
    cell.diverged = lambda name: {("users", k) for k in checks.get(name, set())}
    return cell


def test_the_incident_rows_stuck_untouched_and_what_the_fix_healed() -> None:
    checks = {"after_overlap": {"1", "2"}, "after_leader_write": {"1", "2"}, "after_probe": {"1", "2"},
              "after_fix": {"2"}}
    leader_write = [op(5, "update", "1")]   # between the first check (seq 4) and the story's end (seq 6)
    cell = stand_in_cell(checks, {"after_overlap": 4, "after_leader_write": 6, "after_probe": 9, "after_fix": 12},
                         leader_write, probed={"1", "2"}, story="after_leader_write", fixed=True)
    rows = RowVerdicts(cell)
    assert rows.untouched == {("users", "2")}
    assert rows.stuck == {("users", "1"), ("users", "2")}
    assert rows.verdict(("users", "1")) is RowVerdict.STUCK
    assert rows.fix(("users", "1")) is FixVerdict.HEALED and rows.fix(("users", "2")) is FixVerdict.STILL_DIVERGED


def test_a_row_the_probe_converged_is_converged_and_untouched_is_not_measured_without_later_app_writes() -> None:
    checks = {"after_run": {"1", "2"}, "after_probe": {"2"}}
    cell = stand_in_cell(checks, {"after_run": 3, "after_probe": 7}, [], probed={"1"}, story="after_run")
    rows = RowVerdicts(cell)
    assert rows.untouched is None          # the story ended at the first check: nothing to tell
    assert rows.stuck == set()             # row 2 stayed diverged, but no write was made to it
    assert rows.verdict(("users", "1")) is RowVerdict.CONVERGED
    assert rows.verdict(("users", "2")) is RowVerdict.DIVERGED
    assert rows.fix(("users", "2")) is None


def test_a_workload_that_cannot_probe_has_no_stuck_rows_to_report() -> None:
    cell = stand_in_cell({"after_run": {"7"}}, {"after_run": 3}, [], probed=None, story="after_run")
    rows = RowVerdicts(cell)
    assert rows.stuck is None and rows.verdict(("users", "7")) is RowVerdict.DIVERGED
