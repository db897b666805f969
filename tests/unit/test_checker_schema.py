"""Table introspection rules: names, column kinds, refusal of tables the checker cannot match by key."""

from __future__ import annotations

import pytest

from lab.checker.schema import Kind, TableRef, from_rows, kind_of, reconcile
from lab.errors import LabError


def columns(*specs: tuple[str, str, str]) -> list[dict]:
    return [{"name": n, "data_type": t, "nullable": nullable, "charset": None, "collation": None}
            for n, t, nullable in specs]


def test_table_ref_defaults_to_lab_or_the_endpoint_schema() -> None:
    assert TableRef.parse("t") == TableRef("lab", "t")
    assert TableRef.parse("t", "shop") == TableRef("shop", "t")
    assert TableRef.parse("`db`.`t`") == TableRef("db", "t")
    assert TableRef("d`b", "t").sql == "`d``b`.`t`"
    with pytest.raises(LabError):
        TableRef.parse("a.b.c")


@pytest.mark.parametrize(("data_type", "kind"), [
    ("bigint", Kind.INTEGER), ("decimal", Kind.DECIMAL), ("double", Kind.FLOAT), ("datetime", Kind.TEMPORAL),
    ("varchar", Kind.TEXT), ("enum", Kind.TEXT), ("varbinary", Kind.BINARY), ("bit", Kind.BIT), ("json", Kind.OTHER),
])
def test_kind_of(data_type: str, kind: Kind) -> None:
    assert kind_of(data_type.upper()) is kind


def test_only_separator_free_kinds_are_plain() -> None:
    assert {k for k in Kind if k.is_plain} == {Kind.INTEGER, Kind.DECIMAL, Kind.FLOAT, Kind.TEMPORAL}


def test_table_without_primary_key_is_refused_with_one_line() -> None:
    with pytest.raises(LabError, match="has no primary key") as caught:
        from_rows(TableRef("lab", "t"), columns(("a", "int", "YES")), [], "dc2")
    assert "\n" not in str(caught.value)


def test_missing_table_and_float_keys_are_refused() -> None:
    with pytest.raises(LabError, match="does not exist on dc2"):
        from_rows(TableRef("lab", "t"), [], [], "dc2")
    with pytest.raises(LabError, match="FLOAT"):
        from_rows(TableRef("lab", "t"), columns(("f", "double", "NO")), [{"name": "f"}], "dc1")


def test_key_follows_index_order_not_column_order() -> None:
    schema = from_rows(TableRef("lab", "t"), columns(("a", "int", "NO"), ("b", "int", "NO"), ("v", "text", "YES")),
                       [{"name": "b"}, {"name": "a"}], "dc1")
    assert schema.key_names == ["b", "a"]
    assert [c.name for c in schema.value_columns] == ["v"]


def test_reconcile_requires_same_columns_and_key() -> None:
    ref = TableRef("lab", "t")
    one = from_rows(ref, columns(("id", "int", "NO"), ("v", "text", "YES")), [{"name": "id"}], "dc1")
    other = from_rows(ref, columns(("id", "int", "NO"), ("w", "text", "YES")), [{"name": "id"}], "dc2")
    assert reconcile({"dc1": one, "dc2": one}) is one
    with pytest.raises(LabError, match="missing v; extra w"):
        reconcile({"dc1": one, "dc2": other})
    rekeyed = from_rows(ref, columns(("id", "int", "NO"), ("v", "text", "NO")), [{"name": "v"}], "dc2")
    with pytest.raises(LabError, match="primary key"):
        reconcile({"dc1": one, "dc2": rekeyed})
    retyped = from_rows(ref, columns(("id", "int", "NO"), ("v", "int", "YES")), [{"name": "id"}], "dc2")
    with pytest.raises(LabError, match="column v is int on dc2 but text on dc1"):
        reconcile({"dc1": one, "dc2": retyped})
    widened = from_rows(ref, columns(("id", "bigint", "NO"), ("v", "mediumtext", "YES")), [{"name": "id"}], "dc2")
    assert reconcile({"dc1": one, "dc2": widened}) is one  # same kind of value: compared as such
