"""Whole rows for the differing keys, and what differs about each of them.

Rows are fetched by key string (from the digests) on every DC, on the same snapshot connection,
and matched by that string, which encodes the key's bytes: two keys equal under a
case-insensitive collation but not byte-for-byte are two different keys here.
Values are compared strictly (type and exact rendering), never with collation rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from lab.checker import sqlgen
from lab.checker.schema import TableRef, TableSchema
from lab.checker.session import DCPool

DiffKind = Literal["values_differ", "missing", "extra"]
Row = dict[str, Any]


@dataclass(frozen=True)
class Divergence:
    """One diverged primary key: its rows on every DC (None where absent) and how it differs."""

    key_text: str
    key: tuple
    kind: DiffKind
    dcs: tuple[str, ...]            # DCs concerned (see `classify`)
    rows: Mapping[str, Row | None]  # dc -> row
    columns: tuple[str, ...]        # value columns that differ somewhere (all of them for missing/extra)


def comparable(value: Any) -> Any:
    """A form in which equal means byte-for-byte equal as the server rendered it."""
    if isinstance(value, Decimal):
        return ("decimal", str(value))
    if isinstance(value, float):
        return ("float", repr(value))
    if isinstance(value, (bytes, bytearray)):
        return ("bytes", bytes(value))
    return (type(value).__name__, value)


def same_row(a: Row, b: Row, columns: Iterable[str]) -> bool:
    return all(comparable(a[c]) == comparable(b[c]) for c in columns)


def classify(rows: Mapping[str, Row | None], columns: Sequence[str]) -> tuple[DiffKind, tuple[str, ...]] | None:
    """Classify one key relative to the first (reference) DC; None if all DCs agree.

    - reference has it, some DC lacks it        -> missing, dcs = where absent
      (missing wins over value differences on a third DC; those still show in `differences`)
    - reference lacks it, some DC has it        -> extra, dcs = where present
    - everyone has it, some DC's values differ  -> values_differ, dcs = DCs differing from the reference
    """
    (_reference, ref_row), *others = rows.items()
    if ref_row is None:
        present = tuple(dc for dc, row in others if row is not None)
        return ("extra", present) if present else None
    absent = tuple(dc for dc, row in others if row is None)
    if absent:
        return "missing", absent
    differing = tuple(dc for dc, row in others if row is not None and not same_row(ref_row, row, columns))
    return ("values_differ", differing) if differing else None


def differing_columns(rows: Mapping[str, Row | None], columns: Sequence[str]) -> tuple[str, ...]:
    present = [row for row in rows.values() if row is not None]
    if len(present) < len(rows):
        return tuple(columns)
    first = present[0]
    return tuple(c for c in columns if any(comparable(r[c]) != comparable(first[c]) for r in present[1:]))


def fetch(pool: DCPool, schema: TableSchema, refs: dict[str, TableRef], keys: Sequence[str],
          batch: int) -> dict[str, dict[str, Row]]:
    """dc -> key string -> row, for the given key strings (absent keys are simply not there)."""
    found: dict[str, dict[str, Row]] = {dc: {} for dc in pool.sessions}
    for start in range(0, len(keys), batch):
        part = keys[start:start + batch]
        results = pool.run_each(lambda s, part=part: sqlgen.fetch_rows_sql(schema, refs[s.dc], part))
        for dc, rows in results.items():
            for row in rows:
                key = row.pop(sqlgen.KEY_ALIAS)
                found[dc][key.decode("ascii") if isinstance(key, bytes) else str(key)] = row
    return found


def divergences(schema: TableSchema, dcs: Sequence[str], keys: Iterable[str],
                fetched: Mapping[str, Mapping[str, Row]], *, snapshot: bool = True) -> list[Divergence]:
    """Classify every key whose row hash differed.

    Rows are read from the same snapshot as the hashes, so identical-looking rows with different
    hashes differ in bytes Python cannot see (e.g. a column's character set differs between DCs):
    they are kept as values_differ with no differing column named. Without a snapshot such a key
    may simply have converged between the two reads, so it is dropped.
    """
    value_columns = [c.name for c in schema.value_columns]
    result = []
    for key_text in keys:
        rows = {dc: fetched[dc].get(key_text) for dc in dcs}
        if all(row is None for row in rows.values()):
            continue  # cannot happen within one snapshot; without one, the row was deleted meanwhile
        verdict = classify(rows, schema.column_names)
        if verdict is None:
            if not snapshot:
                continue
            verdict = ("values_differ", tuple(dcs[1:]))
        kind, concerned = verdict
        present = next(row for row in rows.values() if row is not None)
        key = tuple(present[n] for n in schema.key_names)
        columns = differing_columns(rows, value_columns) if kind == "values_differ" else tuple(value_columns)
        result.append(Divergence(key_text, key, kind, concerned, rows, columns))
    try:
        return sorted(result, key=lambda d: d.key)
    except TypeError:  # keys Python cannot order (should not happen for one table)
        return sorted(result, key=lambda d: d.key_text)
