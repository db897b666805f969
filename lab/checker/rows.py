"""Whole rows for the differing keys, and what differs about each of them.

Rows are fetched by key string (from the digests) on every DC, on the same snapshot connection,
and matched by that string, which encodes the key's bytes: two keys equal under a
case-insensitive collation but not byte-for-byte are two different keys here.
Values are compared strictly (type and exact rendering), never with collation rules.

A check may hold hundreds of thousands of diverged keys, each with a row per DC, so rows are
kept as value tuples (see `divergences`), and a value equal on two DCs is kept once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, wait
from decimal import Decimal
from typing import Any

from lab.checker import sqlgen
from lab.checker.divergences import DiffKind, Divergences, Values, row_index
from lab.checker.schema import TableRef, TableSchema
from lab.checker.session import DCPool, DCSession

_RENDERED: dict[type, Any] = {float: repr, Decimal: str}   # equal values that render differently differ
_BYTES = (bytes, bytearray)


def same_value(a: Any, b: Any) -> bool:
    """Equal byte for byte as the server rendered them: the same type (bytes and bytearray alike)
    and the same rendering, so None != '', 1 != True, Decimal('1.10') != Decimal('1.1')."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return isinstance(a, _BYTES) and isinstance(b, _BYTES) and a == b
    render = _RENDERED.get(kind)
    return render(a) == render(b) if render else a == b


def same_row(a: Mapping[str, Any], b: Mapping[str, Any], columns: Iterable[str]) -> bool:
    return all(same_value(a[c], b[c]) for c in columns)


def differing_positions(a: Values, b: Values) -> list[int]:
    return [i for i, same in enumerate(map(same_value, a, b)) if not same]


def against_reference(rows: Mapping[str, Values | None]) -> dict[str, list[int]]:
    """For each other DC holding the key (when the reference does too), the positions that differ from the
    reference's row: computed once per key, then read by `classify`, `differing_columns` and `shared`."""
    (_reference, ref_row), *others = rows.items()
    if ref_row is None:
        return {}
    return {dc: differing_positions(ref_row, row) for dc, row in others if row is not None}


def classify(rows: Mapping[str, Values | None],
             differ: Mapping[str, list[int]]) -> tuple[DiffKind, tuple[str, ...]] | None:
    """Classify one key (value tuples per DC, `differ` from `against_reference`) relative to the first
    (reference) DC; None if all DCs agree.

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
    differing = tuple(dc for dc, _ in others if differ[dc])
    return ("values_differ", differing) if differing else None


def differing_columns(rows: Mapping[str, Values | None], columns: Sequence[str], value_positions: Sequence[int],
                      differ: Mapping[str, list[int]]) -> tuple[str, ...]:
    """The value columns (at `value_positions` of `columns`) that differ between any two present DCs.

    With every DC present, a value differing between two DCs differs from the reference on one of them,
    so the positions against the reference are enough."""
    if any(row is None for row in rows.values()):
        return tuple(columns[i] for i in value_positions)
    differing = set().union(*differ.values())
    return tuple(columns[i] for i in value_positions if i in differing)


def shared(reference: Values, other: Values, positions: Sequence[int]) -> Values:
    """`other`, with the reference's object at every position not in `positions` (those are equal)."""
    if not positions:
        return reference
    merged = list(reference)
    for i in positions:
        merged[i] = other[i]
    return tuple(merged)


def fetch(pool: DCPool, schema: TableSchema, refs: dict[str, TableRef], keys: Sequence[str],
          batch: int) -> Iterator[tuple[Sequence[str], dict[str, dict[str, Values]]]]:
    """Per batch of key strings: dc -> key string -> values in column order (absent keys are not there).

    A generator, so that each batch is classified before the next is read: only one batch of
    unshared rows exists at a time, besides the next one, which the DCs' threads read while the
    current one is classified (the servers' time is hidden behind the classifying)."""
    parts = [keys[start:start + batch] for start in range(0, len(keys), batch)]
    pending = _read(pool, schema, refs, parts[0]) if parts else {}
    try:
        for n, part in enumerate(parts):
            found = {dc: future.result() for dc, future in pending.items()}
            pending = _read(pool, schema, refs, parts[n + 1]) if n + 1 < len(parts) else {}
            yield part, found
    finally:
        wait(pending.values())   # a read still running when the caller stops: its session must be idle again


def _read(pool: DCPool, schema: TableSchema, refs: dict[str, TableRef],
          part: Sequence[str]) -> dict[str, Future[dict[str, Values]]]:
    """Start reading one batch of rows on every DC."""
    statements: dict[TableRef, str] = {}   # built once per table name, not once per DC
    for ref in refs.values():
        statements.setdefault(ref, sqlgen.fetch_rows_sql(schema, ref, part))

    def read(session: DCSession) -> dict[str, Values]:
        return {key.decode("ascii") if isinstance(key, bytes) else str(key): tuple(values)
                for key, *values in session.run_tuples(statements[refs[session.dc]])}

    return pool.submit(read)


def collect(pool: DCPool, schema: TableSchema, refs: dict[str, TableRef], keys: Sequence[str], batch: int, *,
            snapshot: bool) -> Divergences:
    """The divergences of the candidate `keys` (from the walk), in primary-key order."""
    found = Divergences(list(pool.sessions), schema.column_names, schema.key_names)
    for part, fetched in fetch(pool, schema, refs, keys, batch):
        divergences(schema, found.dcs, part, fetched, snapshot=snapshot, into=found)
    return found.in_key_order()


def divergences(schema: TableSchema, dcs: Sequence[str], keys: Iterable[str],
                fetched: Mapping[str, Mapping[str, Values]], *, snapshot: bool = True,
                into: Divergences | None = None) -> Divergences:
    """Classify every key whose row hash differed (in the order of `keys`), adding them to `into` (a new
    `Divergences` when not given), which is returned.

    Rows are read from the same snapshot as the hashes, so identical-looking rows with different
    hashes differ in bytes Python cannot see (e.g. a column's character set differs between DCs):
    they are kept as values_differ with no differing column named. Without a snapshot such a key
    may simply have converged between the two reads, so it is dropped.
    """
    columns = schema.column_names
    index = row_index(columns)
    value_positions = [index[c.name] for c in schema.value_columns]
    all_values = tuple(columns[i] for i in value_positions)
    reference, *others = dcs
    result = Divergences(dcs, columns, schema.key_names) if into is None else into
    for key_text in keys:
        values = {dc: fetched[dc].get(key_text) for dc in dcs}
        if all(row is None for row in values.values()):
            continue  # cannot happen within one snapshot; without one, the row was deleted meanwhile
        differ = against_reference(values)
        verdict = classify(values, differ)
        if verdict is None:
            if not snapshot:
                continue
            verdict = ("values_differ", tuple(others))
        kind, concerned = verdict
        differing = (differing_columns(values, columns, value_positions, differ) if kind == "values_differ"
                     else all_values)
        first = values[reference]
        result.add(key_text, kind, concerned, differing,
                   {dc: shared(first, row, differ[dc]) if dc in differ else row for dc, row in values.items()})
    return result
