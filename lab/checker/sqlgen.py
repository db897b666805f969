"""SQL the checker sends: row hashes, chunk sums, digest lists, key ranges, key lookups.

Design (why it is exact):
- A row is rendered with CONCAT_WS('#', ...) over every column, then the byte length of every
  column whose text could contain '#', then a NULL bitmap of the nullable columns. Given the
  schema, that string can be parsed back unambiguously, so two rows render alike only if they
  are byte-for-byte alike: NULL differs from '', 'a' from 'A', 'a' from 'a ' whatever the
  collation says (SHA2 hashes bytes; collations only matter for comparisons).
- The row hash is the first 64 bits of SHA2-256. A chunk is summarised by COUNT(*) and the
  exact (DECIMAL) SUM of those 64-bit values, which, unlike BIT_XOR(CRC32), has no algebraic
  structure that lets equal changes or swapped values cancel out.
- Key ranges and lookups are written as expanded AND/OR predicates on the primary key, which
  both MySQL and MariaDB turn into index range scans. Values are inlined as escaped literals.
MySQL and MariaDB agree on every function used here (CONCAT_WS, SHA2, CONV, GROUP_CONCAT, HEX),
so the only dialect-specific SQL lives in `session.py` (snapshots and positions).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lab.checker.literals import literal
from lab.checker.schema import Column, Kind, TableRef, TableSchema, quote

SEPARATOR = "#"
KEY_SEPARATOR = ":"
ELEMENT_SEPARATOR = ","
HASH_HEX = 16                      # 64 bits of SHA2-256 per row
KEY_ALIAS = "__lab_key__"
_PLAIN_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_PLAIN_INTEGER = re.compile(r"-?[0-9]+\Z")


@dataclass(frozen=True)
class KeyRange:
    """Primary-key interval [lo, hi); None means unbounded on that side."""

    lo: tuple | None = None
    hi: tuple | None = None

    def __str__(self) -> str:
        return f"[{'-inf' if self.lo is None else self.lo}, {'+inf' if self.hi is None else self.hi})"


def _mixed_collations(schema: TableSchema) -> bool:
    return len({c.collation for c in schema.columns if c.kind is Kind.TEXT}) > 1


def _value(column: Column, as_bytes: bool) -> str:
    name = quote(column.name)
    if column.kind is Kind.TEXT and as_bytes:
        return f"CAST({name} AS BINARY)"
    return name


def row_text(schema: TableSchema) -> str:
    """Unambiguous rendering of a whole row (see the module docstring)."""
    as_bytes = _mixed_collations(schema)
    parts = [_value(c, as_bytes) for c in schema.columns]
    parts += [f"LENGTH({quote(c.name)})" for c in schema.columns if not c.kind.is_plain]
    nullable = [f"ISNULL({quote(c.name)})" for c in schema.columns if c.nullable]
    if nullable:
        parts.append(f"CONCAT({', '.join(nullable)})")
    return f"CONCAT_WS('{SEPARATOR}', {', '.join(parts)})"


def row_hash(schema: TableSchema) -> str:
    """First 64 bits of the row's SHA2-256, as 16 hex digits."""
    return f"LEFT(SHA2({row_text(schema)}, 256), {HASH_HEX})"


def key_part(column: Column) -> str:
    """A key column as text without ':' or ',': plain digits for numbers, hex bytes otherwise."""
    name = quote(column.name)
    if column.kind in (Kind.INTEGER, Kind.DECIMAL):
        return name
    if column.kind is Kind.BIT:
        return f"({name} + 0)"
    if column.kind is Kind.TEMPORAL:
        return f"HEX(CAST({name} AS CHAR))"
    return f"HEX({name})"


def key_text(schema: TableSchema) -> str:
    parts = [key_part(c) for c in schema.key]
    return parts[0] if len(parts) == 1 else f"CONCAT_WS('{KEY_SEPARATOR}', {', '.join(parts)})"


def part_literal(column: Column, part: str) -> str:
    """Turn one part of a key string back into a literal that matches the column by index."""
    if column.kind in (Kind.INTEGER, Kind.DECIMAL, Kind.BIT):
        if not _PLAIN_NUMBER.match(part):
            raise ValueError(f"bad numeric key part {part!r}")
        return part
    raw = bytes.fromhex(part)
    if column.kind is Kind.TEMPORAL:
        return literal(raw.decode("ascii"))
    if column.kind is Kind.TEXT and column.charset:
        return f"_{column.charset} X'{part.upper()}'" if part else f"_{column.charset}''"
    return literal(raw)


def key_string_literals(schema: TableSchema, key: str) -> list[str]:
    parts = key.split(KEY_SEPARATOR)
    if len(parts) != len(schema.key):
        raise ValueError(f"key string {key!r} has {len(parts)} parts, expected {len(schema.key)}")
    return [part_literal(c, p) for c, p in zip(schema.key, parts, strict=True)]


def _tuple_compare(names: Sequence[str], values: Sequence[Any], strict: str, last: str) -> str:
    """(k1..kn) <op> (v1..vn) expanded into ORs of ANDs, e.g. k1 > v1 OR (k1 = v1 AND k2 >= v2)."""
    clauses = []
    for i, name in enumerate(names):
        equal = [f"{quote(n)} = {literal(v)}" for n, v in zip(names[:i], values[:i], strict=True)]
        op = last if i == len(names) - 1 else strict
        clauses.append(" AND ".join([*equal, f"{quote(name)} {op} {literal(values[i])}"]))
    return "(" + " OR ".join(f"({c})" for c in clauses) + ")"


def range_predicate(schema: TableSchema, key_range: KeyRange) -> str:
    names = schema.key_names
    conditions = []
    if key_range.lo is not None:
        conditions.append(_tuple_compare(names, key_range.lo, ">", ">="))
    if key_range.hi is not None:
        conditions.append(_tuple_compare(names, key_range.hi, "<", "<"))
    return " AND ".join(conditions) or "1=1"


def _from(ref: TableRef) -> str:
    return f"FROM {ref.sql} FORCE INDEX (PRIMARY)"


def chunk_hash_sql(schema: TableSchema, ref: TableRef, key_range: KeyRange) -> str:
    """COUNT(*) and the exact sum of 64-bit row hashes over a key range."""
    return (f"SELECT COUNT(*) AS n, SUM(CAST(CONV({row_hash(schema)}, 16, 10) AS UNSIGNED)) AS h "
            f"{_from(ref)} WHERE {range_predicate(schema, key_range)}")


def chunk_hashes_sql(schema: TableSchema, ref: TableRef, ranges: Sequence[KeyRange]) -> str:
    """`chunk_hash_sql` for several ranges in one round trip: one UNION ALL branch per range, each its own
    index range scan (no temporary table, so a row costs what it costs in one range); `i` numbers the ranges."""
    head = f"SUM(CAST(CONV({row_hash(schema)}, 16, 10) AS UNSIGNED)) AS h {_from(ref)}"
    return " UNION ALL ".join(f"SELECT {i} AS i, COUNT(*) AS n, {head} WHERE {range_predicate(schema, r)}"
                              for i, r in enumerate(ranges))


def count_sql(schema: TableSchema, ref: TableRef, key_range: KeyRange) -> str:
    """What EXPLAIN is asked about to estimate a range's rows before hashing it."""
    return f"SELECT COUNT(*) {_from(ref)} WHERE {range_predicate(schema, key_range)}"


def _digest_select(schema: TableSchema, ref: TableRef, key_range: KeyRange) -> str:
    element = f"CONCAT({key_text(schema)}, '{KEY_SEPARATOR}', {row_hash(schema)})"
    return (f"COUNT(*) AS n, GROUP_CONCAT({element} SEPARATOR '{ELEMENT_SEPARATOR}') AS d "
            f"{_from(ref)} WHERE {range_predicate(schema, key_range)}")


def digest_sql(schema: TableSchema, ref: TableRef, key_range: KeyRange) -> str:
    """One string 'key:hash,key:hash,...' for the range, plus COUNT(*) to detect truncation."""
    return f"SELECT {_digest_select(schema, ref, key_range)}"


def digests_sql(schema: TableSchema, ref: TableRef, ranges: Sequence[KeyRange]) -> str:
    """`digest_sql` for several ranges in one round trip (one UNION ALL branch each, numbered by `i`): the
    differing sub-ranges of a chunk are listed together, not at a round trip each."""
    return " UNION ALL ".join(f"SELECT {i} AS i, {_digest_select(schema, ref, r)}" for i, r in enumerate(ranges))


def boundary_sql(schema: TableSchema, ref: TableRef, key_range: KeyRange, offset: int) -> str:
    """The key `offset` rows into the range (index-only walk, as pt-table-checksum does)."""
    order = ", ".join(quote(n) for n in schema.key_names)
    return (f"SELECT {order} {_from(ref)} WHERE {range_predicate(schema, key_range)} "
            f"ORDER BY {order} LIMIT 1 OFFSET {int(offset)}")


def _integer_texts(schema: TableSchema, keys: Sequence[str]) -> bool:
    """Are these the key strings of a single integer key, each plain digits (its own literal, ordered by value)?"""
    return len(schema.key) == 1 and schema.key[0].kind is Kind.INTEGER and all(map(_PLAIN_INTEGER.match, keys))


def fetch_rows_sql(schema: TableSchema, ref: TableRef, keys: Sequence[str]) -> str:
    """Whole rows for key strings from digests, with the key string echoed for byte-exact matching."""
    columns = ", ".join(quote(c) for c in schema.column_names)
    if len(schema.key) == 1:
        if _integer_texts(schema, keys):
            values = ", ".join(keys)   # no per-key parsing
        else:
            values = ", ".join(key_string_literals(schema, k)[0] for k in keys)
        where = f"{quote(schema.key_names[0])} IN ({values})"
    else:
        where = " OR ".join(
            "(" + " AND ".join(f"{quote(n)} = {v}" for n, v in
                               zip(schema.key_names, key_string_literals(schema, k), strict=True)) + ")"
            for k in keys)
    return f"SELECT CONCAT({key_text(schema)}) AS {KEY_ALIAS}, {columns} FROM {ref.sql} WHERE {where}"


def in_key_order(schema: TableSchema, keys: Iterable[str]) -> list[str]:
    """Key strings sorted as the primary key sorts them where their text allows it: a single integer key by
    value, so that rows fetched in this order come out in key order and need no reordering afterwards
    (`Divergences.in_key_order` then keeps them as they are). Other keys are sorted as text, which is not
    key order (hex bytes, digits of unequal length); the divergences are reordered by value later."""
    texts = list(keys)
    return sorted(texts, key=int) if _integer_texts(schema, texts) else sorted(texts)


def table_hash_sql(schema: TableSchema, ref: TableRef) -> str:
    """The whole table in one pass: the benchmark's floor, with exactly the checker's row hash."""
    return chunk_hash_sql(schema, ref, KeyRange())
