"""Row comparison and classification: strict byte-level equality, kinds relative to the reference DC."""

from __future__ import annotations

import datetime
import time
from decimal import Decimal

import pandas as pd

from lab.checker.divergences import Divergence, Divergences, Row, row_index
from lab.checker.result import differences_frame, rows_frame
from lab.checker.rows import (
    against_reference,
    classify,
    differing_columns,
    divergences,
    fetch,
    same_row,
    same_value,
    shared,
)
from lab.checker.schema import Column, TableRef, TableSchema
from lab.checker.session import DCPool
from lab.checker.sqlgen import in_key_order

COLUMNS = ["id", "v"]


def test_strict_equality() -> None:
    assert not same_value(None, "") and not same_value("a", "A") and not same_value("a", "a ")
    assert not same_value(Decimal("1.10"), Decimal("1.1")) and same_value(Decimal("1.10"), Decimal("1.10"))
    assert same_value(b"a", bytearray(b"a")) and not same_value(b"a", "a")
    assert not same_value(1, True) and not same_value(1, 1.0) and not same_value(0.0, -0.0)
    assert same_value(float("nan"), float("nan"))   # the same rendering, although nan != nan
    assert same_value(datetime.datetime(2024, 1, 1, 0, 0, 0, 5), datetime.datetime(2024, 1, 1, 0, 0, 0, 5))
    assert not same_value(datetime.date(2024, 1, 1), datetime.datetime(2024, 1, 1))
    assert same_row({"id": 1, "v": "x"}, {"id": 1, "v": "x"}, COLUMNS)
    assert not same_row({"id": 1, "v": None}, {"id": 1, "v": ""}, COLUMNS)


def test_row_is_a_read_only_mapping() -> None:
    index = row_index(["id", "v", "w"])
    row = Row(index, (1, "a", None))
    assert row["v"] == "a" and row.get("w", "?") is None and row.get("nope") is None
    assert dict(row) == {"id": 1, "v": "a", "w": None} and row == {"id": 1, "v": "a", "w": None}
    assert row.select(["id", "v", "w"]) is row.values and row.select(["w", "id"]) == (None, 1)
    assert same_row(row, {"id": 1, "v": "a", "w": None}, ["id", "v", "w"])


def verdict(rows: dict) -> object:
    return classify(rows, against_reference(rows))


def test_classify_two_dcs() -> None:
    assert verdict({"dc1": (1, "a"), "dc2": (1, "a")}) is None
    assert verdict({"dc1": (1, "a"), "dc2": (1, "b")}) == ("values_differ", ("dc2",))
    assert verdict({"dc1": (1, "a"), "dc2": None}) == ("missing", ("dc2",))
    assert verdict({"dc1": None, "dc2": (1, "a")}) == ("extra", ("dc2",))
    assert verdict({"dc1": None, "dc2": None}) is None


def test_classify_three_dcs() -> None:
    # missing wins over a value difference on a third DC
    assert verdict({"dc1": (1, "a"), "dc2": None, "dc3": (1, "b")}) == ("missing", ("dc2",))
    assert verdict({"dc1": (1, "a"), "dc2": (1, "a"), "dc3": (1, "b")}) == ("values_differ", ("dc3",))
    assert verdict({"dc1": None, "dc2": (1, "a"), "dc3": (1, "a")}) == ("extra", ("dc2", "dc3"))
    assert verdict({"dc1": None, "dc2": None, "dc3": (1, "a")}) == ("extra", ("dc3",))


def columns_of(rows: dict) -> tuple[str, ...]:
    return differing_columns(rows, ["id", "x", "y", "z"], [1, 2, 3], against_reference(rows))


def test_differing_columns() -> None:
    assert columns_of({"dc1": (1, 1, "a", 0), "dc2": (1, 1, "A", 0)}) == ("y",)
    assert columns_of({"dc1": (1, 1, "a", 0), "dc2": None}) == ("x", "y", "z")
    # a third DC differing elsewhere: every column that differs between any two present DCs
    assert columns_of({"dc1": (1, 1, "a", 0), "dc2": (1, 1, "A", 0), "dc3": (1, 2, "a", 0)}) == ("x", "y")


def test_shared_keeps_one_object_per_equal_value() -> None:
    mine, theirs = (1, "x" * 50, Decimal("1.10")), (1, "".join(["x"] * 50), Decimal("1.1"))
    merged = shared(mine, theirs, against_reference({"dc1": mine, "dc2": theirs})["dc2"])
    assert merged == theirs and merged[1] is mine[1] and merged[2] is theirs[2]
    assert str(merged[2]) == "1.1" and shared(mine, mine[:], []) is mine


SCHEMA = TableSchema(TableRef("lab", "t"), (Column("id", "int", False), Column("v", "varchar", True)),
                     (Column("id", "int", False),))


def test_divergences_sorted_by_key_with_kinds() -> None:
    fetched = {"dc1": {"1": (1, "a"), "2": (2, "b"), "10": (10, "x")},
               "dc2": {"1": (1, "A"), "3": (3, "c"), "10": (10, "y")}}
    found = divergences(SCHEMA, ["dc1", "dc2"], ["3", "1", "2", "10"], fetched).in_key_order()
    assert [(d.key, d.kind, d.dcs, d.columns) for d in found] == [
        ((1,), "values_differ", ("dc2",), ("v",)),
        ((2,), "missing", ("dc2",), ("v",)),
        ((3,), "extra", ("dc2",), ("v",)),
        ((10,), "values_differ", ("dc2",), ("v",)),   # key order, not the key strings' order
    ]
    assert found[0].rows["dc2"] == {"id": 1, "v": "A"} and found[1].rows["dc2"] is None


def test_keys_fetched_in_integer_order_need_no_reordering_and_give_the_same_frames() -> None:
    fetched = {"dc1": {"-5": (-5, "n"), "1": (1, "a"), "2": (2, "b"), "10": (10, "x"), "9": (9, "p")},
               "dc2": {"1": (1, "A"), "3": (3, "c"), "10": (10, "y"), "9": (9, "q")}}
    walked = ["9", "3", "10", "-5", "1", "2"]
    as_text = divergences(SCHEMA, ["dc1", "dc2"], sorted(walked), fetched)
    by_value = divergences(SCHEMA, ["dc1", "dc2"], in_key_order(SCHEMA, walked), fetched)
    assert by_value.in_key_order() is by_value and as_text.in_key_order() is not as_text
    reordered = as_text.in_key_order()
    assert by_value.key_texts == reordered.key_texts == ["-5", "1", "2", "3", "9", "10"]
    assert by_value.values == reordered.values and by_value.kinds == reordered.kinds
    pd.testing.assert_frame_equal(differences_frame(by_value), differences_frame(reordered))
    pd.testing.assert_frame_equal(rows_frame(by_value), rows_frame(reordered))


def test_hash_difference_without_visible_difference() -> None:
    fetched = {"dc1": {"1": (1, "a")}, "dc2": {"1": (1, "a")}}
    kept = divergences(SCHEMA, ["dc1", "dc2"], ["1"], fetched, snapshot=True)
    assert [(d.kind, d.columns) for d in kept] == [("values_differ", ())]
    assert len(divergences(SCHEMA, ["dc1", "dc2"], ["1"], fetched, snapshot=False)) == 0


def test_frames_from_rows_and_from_plain_mappings_agree() -> None:
    """Frames are built column by column; a store classified from fetched rows and one made from `Divergence`s
    with dict rows (as callers may build) give the same frames, and the per-key views round-trip."""
    fetched = {"dc1": {"1": (1, "a"), "2": (2, None)}, "dc2": {"1": (1, "A"), "3": (3, "")}}
    found = divergences(SCHEMA, ["dc1", "dc2"], ["1", "2", "3"], fetched)
    as_dicts = Divergences.of(["dc1", "dc2"], COLUMNS, ["id"], [
        Divergence(d.key_text, d.key, d.kind, d.dcs, {dc: None if row is None else dict(row)
                                                      for dc, row in d.rows.items()}, d.columns)
        for d in found])
    assert list(as_dicts) == list(found) and as_dicts[1:] == found[1:] and as_dicts[-1] == found[2]
    for build in (rows_frame, differences_frame):
        pd.testing.assert_frame_equal(build(found), build(as_dicts))
    rows = rows_frame(found)
    assert rows["dc2.present"].tolist() == [True, False, True] and rows["dc2.present"].dtype == bool
    assert rows["dc1.v"].tolist() == ["a", None, None] and rows["dcs"].tolist() == ["dc2", "dc2", "dc2"]
    differences = differences_frame(found)
    assert differences.to_dict("records") == [
        {"id": 1, "column": "v", "kind": "values_differ", "dc1": "a", "dc2": "A"},
        {"id": 2, "column": "v", "kind": "missing", "dc1": None, "dc2": None},
        {"id": 3, "column": "v", "kind": "extra", "dc1": None, "dc2": ""},
    ]
    empty = rows_frame(Divergences(["dc1", "dc2"], COLUMNS, ["id"]))
    assert len(empty) == 0 and list(empty.columns)[:3] == ["id", "kind", "dcs"]


def test_garbage_collection_pause_nests_and_restores() -> None:
    import gc

    from lab.checker.compare import gc_paused

    assert gc.isenabled()
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()   # the outer check still runs
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()   # was off before: stays off
    finally:
        gc.enable()


class _SlowSession:
    """A DC's session that answers a whole-row lookup after a pause, logging when each read starts and ends."""

    def __init__(self, dc: str, log: list[str]) -> None:
        self.dc, self.log = dc, log

    def run_tuples(self, sql: str) -> list[tuple]:
        keys = sql.rsplit("IN (", 1)[1].rstrip(")").split(", ")
        self.log.append(f"start {self.dc} {keys[0]}")
        time.sleep(0.02)
        self.log.append(f"end {self.dc} {keys[0]}")
        return [(key.encode(), int(key), f"v{key}") for key in keys]

    def close(self) -> None:
        pass


def test_fetch_reads_the_next_batch_while_the_caller_classifies() -> None:
    log: list[str] = []
    pool = DCPool({dc: _SlowSession(dc, log) for dc in ("dc1", "dc2")})
    refs = {dc: TableRef("lab", "t") for dc in pool.sessions}
    try:
        batches = fetch(pool, SCHEMA, refs, [str(k) for k in range(1, 7)], batch=2)
        part, found = next(batches)
        assert list(part) == ["1", "2"] and found["dc2"] == {"1": (1, "v1"), "2": (2, "v2")}
        time.sleep(0.1)   # the caller classifying batch 1: batch 2 is read meanwhile
        assert {"start dc1 3", "start dc2 3", "end dc1 3", "end dc2 3"} <= set(log)
        assert [list(p) for p, _ in batches] == [["3", "4"], ["5", "6"]]
        stopped = fetch(pool, SCHEMA, refs, ["7", "8", "9"], batch=1)
        next(stopped)
        stopped.close()   # the caller stops early: the read it had started is over when close returns
        assert log[-1].startswith("end") and sum(e.startswith("start") for e in log) == sum(
            e.startswith("end") for e in log)
    finally:
        pool.close()
