"""Row comparison and classification: strict byte-level equality, kinds relative to the reference DC."""

from __future__ import annotations

from decimal import Decimal

from lab.checker.rows import classify, comparable, differing_columns, divergences, same_row
from lab.checker.schema import Column, TableRef, TableSchema

COLUMNS = ["id", "v"]


def row(v: object, key: int = 1) -> dict:
    return {"id": key, "v": v}


def test_strict_equality() -> None:
    assert comparable(None) != comparable("")
    assert comparable("a") != comparable("A")
    assert comparable("a") != comparable("a ")
    assert comparable(Decimal("1.10")) != comparable(Decimal("1.1"))
    assert comparable(b"a") == comparable(bytearray(b"a"))
    assert comparable(1) != comparable(True)
    assert same_row(row("x"), row("x"), COLUMNS) and not same_row(row(None), row(""), COLUMNS)


def test_classify_two_dcs() -> None:
    assert classify({"dc1": row("a"), "dc2": row("a")}, COLUMNS) is None
    assert classify({"dc1": row("a"), "dc2": row("b")}, COLUMNS) == ("values_differ", ("dc2",))
    assert classify({"dc1": row("a"), "dc2": None}, COLUMNS) == ("missing", ("dc2",))
    assert classify({"dc1": None, "dc2": row("a")}, COLUMNS) == ("extra", ("dc2",))
    assert classify({"dc1": None, "dc2": None}, COLUMNS) is None


def test_classify_three_dcs() -> None:
    # missing wins over a value difference on a third DC
    assert classify({"dc1": row("a"), "dc2": None, "dc3": row("b")}, COLUMNS) == ("missing", ("dc2",))
    assert classify({"dc1": row("a"), "dc2": row("a"), "dc3": row("b")}, COLUMNS) == ("values_differ", ("dc3",))
    assert classify({"dc1": None, "dc2": row("a"), "dc3": row("a")}, COLUMNS) == ("extra", ("dc2", "dc3"))
    assert classify({"dc1": None, "dc2": None, "dc3": row("a")}, COLUMNS) == ("extra", ("dc3",))


def test_differing_columns() -> None:
    a = {"id": 1, "x": 1, "y": "a"}
    b = {"id": 1, "x": 1, "y": "A"}
    assert differing_columns({"dc1": a, "dc2": b}, ["x", "y"]) == ("y",)
    assert differing_columns({"dc1": a, "dc2": None}, ["x", "y"]) == ("x", "y")


SCHEMA = TableSchema(TableRef("lab", "t"), (Column("id", "int", False), Column("v", "varchar", True)),
                     (Column("id", "int", False),))


def test_divergences_sorted_by_key_with_kinds() -> None:
    fetched = {"dc1": {"1": row("a", 1), "2": row("b", 2), "10": row("x", 10)},
               "dc2": {"1": row("A", 1), "3": row("c", 3), "10": row("x", 10)}}
    found = divergences(SCHEMA, ["dc1", "dc2"], ["3", "1", "2"], fetched)
    assert [(d.key, d.kind, d.dcs, d.columns) for d in found] == [
        ((1,), "values_differ", ("dc2",), ("v",)),
        ((2,), "missing", ("dc2",), ("v",)),
        ((3,), "extra", ("dc2",), ("v",)),
    ]


def test_hash_difference_without_visible_difference() -> None:
    fetched = {"dc1": {"1": row("a")}, "dc2": {"1": row("a")}}
    kept = divergences(SCHEMA, ["dc1", "dc2"], ["1"], fetched, snapshot=True)
    assert [(d.kind, d.columns) for d in kept] == [("values_differ", ())]
    assert divergences(SCHEMA, ["dc1", "dc2"], ["1"], fetched, snapshot=False) == []
