"""Field-level lost writes over hand-written workload histories (pure logic, no servers)."""

from __future__ import annotations

from typing import Any

from lab.verdicts.lost_updates import holds, lost_writes, same

ROW = ("entities", "1")


def record(seq: int, changes: dict[str, Any] | None = None, *, kind: str = "update", key: str = "1",
           writes: dict[str, Any] | None = None, basis: dict[str, Any] | None = None, rows: int | None = 1,
           error: str | None = None, start: float | None = None, end: float | None = None,
           dc: str = "dc1", op: str = "put", table: str = "entities") -> dict[str, Any]:
    """One history record as Client.write leaves it (writes default to the changes)."""
    changes = changes or {}
    return {"seq": seq, "kind": kind, "table": table, "key": key, "op": op, "changes": changes,
            "writes": changes if writes is None else writes, "basis": basis, "rows_affected": rows,
            "error": error, "start": float(seq) if start is None else start,
            "end": float(seq) + 0.5 if end is None else end, "dc": dc}


def final(dc1: dict[str, Any] | None, dc2: dict[str, Any] | None = None) -> dict:
    """Final rows of the one entity on two DCs (None: the DC does not hold the row)."""
    return {"dc1": {ROW: dc1}, "dc2": {ROW: dc2}}


def test_write_whose_changes_a_dc_holds_is_not_lost() -> None:
    """The change survives on the DCs, so nothing was lost."""
    history = [record(1, {"name": "t1"})]
    assert lost_writes(history, final({"name": "t1"}, {"name": "t1"})) == []


def test_write_overwritten_by_one_that_had_not_seen_it_is_lost() -> None:
    """The second write read the seed, not t1, and replaced t1: t1 is lost, overwritten by it."""
    first = record(1, {"name": "t1"}, basis={"name": "seed"})
    second = record(2, {"name": "t2"}, basis={"name": "seed"}, dc="dc2")
    lost = lost_writes([first, second], final({"name": "t2"}, {"name": "t2"}))
    assert [(item.write["seq"], item.overwritten_by["seq"]) for item in lost] == [(1, 2)]
    assert lost[0].write is first
    assert lost[0].overwritten_by is second


def test_write_replaced_knowingly_is_not_lost() -> None:
    """The second write's basis holds t1: it saw the change and replaced it on purpose."""
    first = record(1, {"name": "t1"}, basis={"name": "seed"})
    second = record(2, {"name": "t2"}, basis={"name": "t1"})
    assert lost_writes([first, second], final({"name": "t2"}, {"name": "t2"})) == []


def test_failed_writes_are_never_lost() -> None:
    """A write with an error or 0 rows affected changed nothing, so nothing of it can vanish."""
    history = [record(1, {"name": "t1"}, error="1213: Deadlock found", rows=None),
               record(2, {"name": "t2"}, rows=0),
               record(3, {"name": "t3"}, basis={"name": "seed"})]
    assert lost_writes(history, final({"name": "t3"}, {"name": "t3"})) == []


def test_failed_write_is_not_blamed_for_a_loss() -> None:
    """Only a successful write can have overwritten a lost one; a 0-row write never ran."""
    first = record(1, {"name": "t1"}, basis={"name": "seed"})
    rejected = record(2, {"name": "t2"}, basis={"name": "seed"}, rows=0)
    lost = lost_writes([first, rejected], final({"name": "seed"}, {"name": "seed"}))
    assert [item.write["seq"] for item in lost] == [1]
    assert lost[0].overwritten_by is None


def test_delete_can_be_the_overwriting_write() -> None:
    """A delete that had not seen the change takes it away: the update is lost, overwritten by the delete."""
    update = record(1, {"name": "t1"}, basis={"name": "seed"})
    delete = record(2, kind="delete", op="delete", basis={"name": "seed"}, dc="dc2")
    lost = lost_writes([update, delete], final(None, None))
    assert len(lost) == 1
    assert lost[0].write is update
    assert lost[0].overwritten_by is delete


def test_delete_that_saw_the_change_is_not_a_loss() -> None:
    """Deleting a row whose change was read first is ordinary progress."""
    update = record(1, {"name": "t1"}, basis={"name": "seed"})
    delete = record(2, kind="delete", op="delete", basis={"name": "t1"})
    assert lost_writes([update, delete], final(None, None)) == []


def test_write_held_on_only_one_of_two_dcs_is_not_lost() -> None:
    """Divergence is not loss: one DC still holds t1."""
    first = record(1, {"name": "t1"}, basis={"name": "seed"})
    second = record(2, {"name": "t2"}, basis={"name": "seed"}, dc="dc2")
    lost = lost_writes([first, second], final({"name": "t1"}, {"name": "t2"}))
    assert lost == []


def test_bigint_read_back_as_text_matches_the_int_written() -> None:
    """`same` compares as the application would: 5 and '5' are one value, None is not 'None'."""
    assert same(5, "5")
    assert same("5", 5)
    assert same(None, None)
    assert not same(None, "None")
    assert not same(5, 6)
    assert holds({"number": "5", "order_id": "o1"}, {"number": 5})
    assert not holds({"order_id": "o1"}, {"number": 5})
    assert not holds(None, {"number": 5})
    history = [record(1, {"number": 5}, kind="insert", table="tickets", key="c0-o0/A0", op="ticket")]
    rows = {"dc1": {("tickets", "c0-o0/A0"): {"number": "5"}}}
    assert lost_writes(history, rows) == []


def test_basis_with_the_change_as_text_counts_as_seen() -> None:
    """A basis read back as text ('7') still shows the writer had seen the int 7."""
    first = record(1, {"version": 7}, basis={"version": 6})
    second = record(2, {"version": 8}, basis={"version": "7"})
    assert lost_writes([first, second], final({"version": 8}, {"version": 8})) == []


def test_attribution_prefers_a_write_that_ended_after_the_lost_one_started() -> None:
    """Of two unseen overwriters, the one ending after the lost write started is blamed, not the earlier one."""
    lost_one = record(2, {"name": "t1"}, basis={"name": "seed"}, start=10.0, end=11.0)
    earlier = record(1, {"name": "t0"}, basis={"name": "seed"}, start=4.0, end=5.0, dc="dc2")
    later = record(3, {"name": "t3"}, basis={"name": "seed"}, start=12.0, end=20.0, dc="dc2")
    found = lost_writes([earlier, lost_one, later], final({"name": "t3"}, {"name": "t3"}))
    blamed = {item.write["seq"]: item.overwritten_by["seq"] for item in found}
    assert blamed == {1: 2, 2: 3}   # t0 is lost too, to the first write ending after it started


def test_attribution_falls_back_to_an_earlier_write() -> None:
    """With no unseen overwriter ending after it started, the earlier one (a late replicated write) is blamed."""
    lost_one = record(2, {"name": "t1"}, basis={"name": "seed"}, start=10.0, end=11.0)
    earlier = record(1, {"name": "t0"}, basis={"name": "seed"}, start=4.0, end=5.0, dc="dc2")
    found = lost_writes([earlier, lost_one], final({"name": "t0"}, {"name": "t0"}))
    assert [(item.write["seq"], item.overwritten_by["seq"]) for item in found] == [(2, 1)]


def test_write_without_changes_and_other_rows_are_ignored() -> None:
    """A write that meant to change nothing cannot be lost, and writes of another row do not overwrite."""
    empty = record(1, {})
    other_row = record(2, {"name": "t2"}, key="2", basis={"name": "seed"})
    mine = record(3, {"name": "t3"}, basis={"name": "seed"})
    rows = {"dc1": {ROW: {"name": "t3"}, ("entities", "2"): {"name": "t2"}}}
    assert lost_writes([empty, other_row, mine], rows) == []


def test_lost_writes_are_in_history_order() -> None:
    """Several losses come back sorted by seq, each with its own culprit."""
    a = record(1, {"name": "a"}, basis={"name": "seed"}, start=1.0, end=1.5)
    b = record(2, {"name": "b"}, basis={"name": "seed"}, start=2.0, end=2.5, dc="dc2")
    c = record(3, {"name": "c"}, basis={"name": "seed"}, start=3.0, end=3.5)
    found = lost_writes([c, b, a], final({"name": "c"}, {"name": "c"}))
    assert [(item.write["seq"], item.overwritten_by["seq"]) for item in found] == [(1, 2), (2, 3)]
