"""SQL generation: unambiguous row rendering, key ranges, key strings and their literals."""

from __future__ import annotations

import pytest

from lab.checker.schema import Column, TableRef, TableSchema
from lab.checker.sqlgen import (
    KeyRange,
    chunk_hash_sql,
    digest_sql,
    fetch_rows_sql,
    in_key_order,
    key_string_literals,
    key_text,
    range_predicate,
    row_text,
)

REF = TableRef("lab", "t")


def schema(columns: list[Column], key: list[str]) -> TableSchema:
    by_name = {c.name: c for c in columns}
    return TableSchema(REF, tuple(columns), tuple(by_name[k] for k in key))


ID = Column("id", "int", False)
NAME = Column("name", "varchar", True, "utf8mb4", "utf8mb4_general_ci")
NOTE = Column("note", "varchar", True, "utf8mb4", "utf8mb4_bin")
AMOUNT = Column("amount", "decimal", True)
SIMPLE = schema([ID, NAME, AMOUNT], ["id"])


def test_row_text_marks_nulls_and_lengths() -> None:
    text = row_text(SIMPLE)
    assert text.startswith("CONCAT_WS('#', `id`, `name`, `amount`")
    # only the separator-capable column gets a length, only nullable columns a NULL flag
    assert "LENGTH(`name`)" in text and "LENGTH(`id`)" not in text and "LENGTH(`amount`)" not in text
    assert "CONCAT(ISNULL(`name`), ISNULL(`amount`))" in text
    assert "ISNULL(`id`)" not in text


def test_mixed_collations_hash_raw_bytes() -> None:
    assert "CAST(`name` AS BINARY)" not in row_text(SIMPLE)
    mixed = schema([ID, NAME, NOTE], ["id"])
    assert "CAST(`name` AS BINARY)" in row_text(mixed) and "CAST(`note` AS BINARY)" in row_text(mixed)


def test_chunk_hash_is_an_exact_sum_of_64_bit_sha2_slices() -> None:
    sql = chunk_hash_sql(SIMPLE, REF, KeyRange())
    assert "COUNT(*)" in sql and "SUM(CAST(CONV(LEFT(SHA2(" in sql and "16), 16, 10) AS UNSIGNED))" in sql
    assert "CRC32" not in sql and "BIT_XOR" not in sql
    assert "FORCE INDEX (PRIMARY)" in sql and sql.endswith("WHERE 1=1")


def test_range_predicate_single_column() -> None:
    assert range_predicate(SIMPLE, KeyRange((5,), (9,))) == "((`id` >= 5)) AND ((`id` < 9))"
    assert range_predicate(SIMPLE, KeyRange(None, (9,))) == "((`id` < 9))"
    assert range_predicate(SIMPLE, KeyRange()) == "1=1"


def test_range_predicate_composite_key_expands_tuple_comparison() -> None:
    composite = schema([Column("a", "int", False), Column("b", "varchar", False, "utf8mb4", "x"), NAME], ["a", "b"])
    sql = range_predicate(composite, KeyRange((1, "x"), (2, "it's")))
    assert sql == ("((`a` > 1) OR (`a` = 1 AND `b` >= 'x')) AND "
                   "((`a` < 2) OR (`a` = 2 AND `b` < 'it\\'s'))")


def test_binary_values_become_hex_literals() -> None:
    blob_key = schema([Column("k", "varbinary", False), ID], ["k"])
    assert range_predicate(blob_key, KeyRange((b"\x00\xff",), None)) == "((`k` >= X'00FF'))"


def test_key_strings_have_no_separators_and_round_trip_to_literals() -> None:
    composite = schema([Column("a", "int", False), Column("b", "varchar", False, "latin1", "latin1_swedish_ci"),
                        Column("c", "datetime", False), Column("d", "varbinary", False)], ["a", "b", "c", "d"])
    assert key_text(composite) == ("CONCAT_WS(':', `a`, HEX(`b`), HEX(CAST(`c` AS CHAR)), HEX(`d`))")
    key = ":".join(["-7", "41", b"2024-01-01 10:00:00".hex().upper(), "00FF"])
    assert key_string_literals(composite, key) == ["-7", "_latin1 X'41'", "'2024-01-01 10:00:00'", "X'00FF'"]


def test_key_string_literal_validation() -> None:
    with pytest.raises(ValueError):
        key_string_literals(SIMPLE, "1 OR 1=1")
    with pytest.raises(ValueError):
        key_string_literals(SIMPLE, "1:2")


def test_digest_and_fetch_queries() -> None:
    digest = digest_sql(SIMPLE, REF, KeyRange((1,), None))
    assert "GROUP_CONCAT(CONCAT(`id`, ':', LEFT(SHA2(" in digest and "SEPARATOR ','" in digest
    fetch = fetch_rows_sql(SIMPLE, REF, ["3", "10"])
    assert fetch.endswith("WHERE `id` IN (3, 10)") and "AS __lab_key__" in fetch
    assert fetch_rows_sql(SIMPLE, REF, ["-7", "0"]).endswith("WHERE `id` IN (-7, 0)")
    with pytest.raises(ValueError):   # the integer shortcut never lets a key string through unchecked
        fetch_rows_sql(SIMPLE, REF, ["3", "1 OR 1=1"])
    composite = schema([Column("a", "int", False), Column("b", "int", False)], ["a", "b"])
    assert fetch_rows_sql(composite, REF, ["1:2", "3:4"]).endswith(
        "WHERE (`a` = 1 AND `b` = 2) OR (`a` = 3 AND `b` = 4)")


def test_key_strings_in_key_order() -> None:
    assert in_key_order(SIMPLE, ["10", "9", "-3", "100", "-20"]) == ["-20", "-3", "9", "10", "100"]   # by value
    assert in_key_order(SIMPLE, iter(["2", "1"])) == ["1", "2"]
    text_key = schema([ID, NAME], ["name"])
    assert in_key_order(text_key, ["6263", "61", "62"]) == ["61", "62", "6263"]    # hex bytes: as text
    assert in_key_order(schema([ID, AMOUNT], ["amount"]), ["10.5", "9.25"]) == ["10.5", "9.25"]   # not integers
    assert in_key_order(schema([ID, NAME], ["id", "name"]), ["10:61", "9:61"]) == ["10:61", "9:61"]
