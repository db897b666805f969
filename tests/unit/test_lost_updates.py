"""Lost-update arithmetic over hand-written histories (pure logic, no servers)."""

from __future__ import annotations

from lab.analysis.lost_updates import lost_updates


def op(seq: int, kind: str, key: int, value: str, version: int, rows: int = 1, **extra: object) -> dict:
    record = {"seq": seq, "kind": kind, "key": key, "rows_affected": rows, "error": None}
    if kind == "read":
        record.update(value=value, version=version)
    else:
        record.update(value=value, new_version=version)
    record.update(extra)
    return record


def test_write_overwritten_without_being_read_is_lost() -> None:
    history = [op(1, "update", 1, "Peter", 20), op(2, "update", 1, "Sarah", 15)]
    final = {"dc1": {1: ("Sarah", 15)}, "dc2": {1: ("Sarah", 15)}}
    assert [w["value"] for w in lost_updates(history, final)] == ["Peter"]


def test_write_held_by_any_dc_is_not_lost() -> None:
    history = [op(1, "update", 1, "Peter", 20), op(2, "update", 1, "Sarah", 15)]
    final = {"dc1": {1: ("Peter", 20)}, "dc2": {1: ("Sarah", 15)}}
    assert lost_updates(history, final) == []


def test_write_that_was_read_is_not_lost_even_if_recorded_out_of_order() -> None:
    history = [op(1, "read", 1, "Peter", 20), op(2, "update", 1, "Peter", 20), op(3, "update", 1, "Paul", 21)]
    final = {"dc1": {1: ("Paul", 21)}}
    assert lost_updates(history, final) == []


def test_failed_and_zero_row_writes_are_not_writes() -> None:
    history = [op(1, "update", 1, "Peter", 20, rows=0), op(2, "update", 1, "X", 30, error="1213: Deadlock")]
    history[1]["error"] = "1213: Deadlock"
    assert lost_updates(history, {"dc1": {1: ("John", 1)}}) == []
