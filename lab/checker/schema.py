"""What the checker needs to know about a table: its columns, how each one is rendered, its primary key.

Every DC is introspected and the answers must agree (same column names, same primary key),
because rows are matched by primary key and hashed column by column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cached_property

from lab.checker.literals import literal
from lab.errors import LabError

DEFAULT_SCHEMA = "lab"

INTEGER_TYPES = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"}
DECIMAL_TYPES = {"decimal", "numeric"}
FLOAT_TYPES = {"float", "double", "real"}
TEMPORAL_TYPES = {"date", "datetime", "timestamp", "time"}
TEXT_TYPES = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"}
BINARY_TYPES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}


class Kind(Enum):
    """How a column's value is rendered in hashes and in key strings."""

    INTEGER = "integer"     # digits: safe as-is in every separator-based format
    DECIMAL = "decimal"     # digits, sign and dot
    FLOAT = "float"
    TEMPORAL = "temporal"
    TEXT = "text"           # has a character set; compared as bytes, never by collation
    BINARY = "binary"
    BIT = "bit"
    OTHER = "other"         # json, geometry, ...: rendered by the server, hashed as bytes

    @property
    def is_plain(self) -> bool:
        """Rendered text can never contain '#', ':' or ',' (so needs no length or hex)."""
        return self in (Kind.INTEGER, Kind.DECIMAL, Kind.FLOAT, Kind.TEMPORAL)


def kind_of(data_type: str) -> Kind:
    data_type = data_type.lower()
    for types, kind in ((INTEGER_TYPES, Kind.INTEGER), (DECIMAL_TYPES, Kind.DECIMAL), (FLOAT_TYPES, Kind.FLOAT),
                        (TEMPORAL_TYPES, Kind.TEMPORAL), (TEXT_TYPES, Kind.TEXT), (BINARY_TYPES, Kind.BINARY)):
        if data_type in types:
            return kind
    return Kind.BIT if data_type == "bit" else Kind.OTHER


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    nullable: bool
    charset: str | None = None
    collation: str | None = None

    @cached_property
    def kind(self) -> Kind:
        """Worked out once per column: a check asks it for every key literal it builds."""
        return kind_of(self.data_type)


@dataclass(frozen=True)
class TableRef:
    schema: str
    table: str

    @classmethod
    def parse(cls, text: str, default_schema: str | None = None) -> TableRef:
        """'t' or 'db.t' (backquotes allowed); a bare name lives in `default_schema` or 'lab'."""
        parts = [p.strip().strip("`") for p in text.split(".")]
        if len(parts) == 1 and parts[0]:
            return cls(default_schema or DEFAULT_SCHEMA, parts[0])
        if len(parts) == 2 and all(parts):
            return cls(parts[0], parts[1])
        raise LabError(f"table {text!r}: expected NAME or SCHEMA.NAME")

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def sql(self) -> str:
        return f"{quote(self.schema)}.{quote(self.table)}"


def quote(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


@dataclass(frozen=True)
class TableSchema:
    """Columns in the reference DC's order and the primary-key columns in index order."""

    ref: TableRef
    columns: tuple[Column, ...]
    key: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)

    @property
    def key_names(self) -> list[str]:
        return [c.name for c in self.key]

    @property
    def value_columns(self) -> list[Column]:
        keys = set(self.key_names)
        return [c for c in self.columns if c.name not in keys]


def _where(ref: TableRef) -> str:
    return f"TABLE_SCHEMA = {literal(ref.schema)} AND TABLE_NAME = {literal(ref.table)}"


def columns_sql(ref: TableRef) -> str:
    return ("SELECT COLUMN_NAME AS name, DATA_TYPE AS data_type, IS_NULLABLE AS nullable, "
            "CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation "
            f"FROM information_schema.COLUMNS WHERE {_where(ref)} ORDER BY ORDINAL_POSITION")


def key_sql(ref: TableRef) -> str:
    return ("SELECT COLUMN_NAME AS name FROM information_schema.STATISTICS "
            f"WHERE {_where(ref)} AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX")


def estimate_sql(ref: TableRef) -> str:
    return f"SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE {_where(ref)}"


def from_rows(ref: TableRef, column_rows: list[dict], key_rows: list[dict], where: str) -> TableSchema:
    """Build a TableSchema from information_schema rows; refuse what cannot be compared exactly."""
    if not column_rows:
        raise LabError(f"table {ref} does not exist on {where}")
    columns = tuple(Column(r["name"], r["data_type"], str(r["nullable"]).upper() == "YES", r["charset"],
                           r["collation"]) for r in column_rows)
    by_name = {c.name: c for c in columns}
    if not key_rows:
        raise LabError(f"table {ref} on {where} has no primary key: the checker matches rows by primary key "
                       "and refuses tables without one (add a PRIMARY KEY)")
    key = tuple(by_name[r["name"]] for r in key_rows)
    floats = [c.name for c in key if c.kind is Kind.FLOAT]
    if floats:
        raise LabError(f"table {ref}: primary-key column(s) {', '.join(floats)} are FLOAT/DOUBLE, "
                       "which cannot be matched exactly across servers")
    return TableSchema(ref, columns, key)


def reconcile(schemas: Mapping[str, TableSchema]) -> TableSchema:
    """The reference (first) DC's schema, once every DC agrees on column names and primary key."""
    (ref_dc, reference), *others = schemas.items()
    for dc, other in others:
        missing = [n for n in reference.column_names if n not in other.column_names]
        extra = [n for n in other.column_names if n not in reference.column_names]
        if missing or extra:
            detail = "; ".join(filter(None, [missing and f"missing {', '.join(missing)}",
                                             extra and f"extra {', '.join(extra)}"]))
            raise LabError(f"table {other.ref} differs in columns on {dc} vs {ref_dc}: {detail}")
        for mine, theirs in zip(reference.columns, (other.column(n) for n in reference.column_names), strict=True):
            if mine.kind is not theirs.kind:
                raise LabError(f"table {other.ref}: column {mine.name} is {theirs.data_type} on {dc} but "
                               f"{mine.data_type} on {ref_dc}; the values cannot be compared (align the schemas)")
        if other.key_names != reference.key_names:
            raise LabError(f"table {other.ref} has primary key ({', '.join(other.key_names)}) on {dc} but "
                           f"({', '.join(reference.key_names)}) on {ref_dc}")
    return reference
