"""Lost updates, column by column, from the history and the rows every DC holds: one rule for every cell.

Every write records `changes` (the columns the user meant to change and their new values),
`writes` (every column the statement set, which for a load-merge-save PATCH is the whole document)
and `basis` (the row it was computed from). A write W is **lost** when

1. no DC holds W's changes at the end, and
2. no other write replaced them *knowingly*: none had W's changes in its basis and then set one of
   those columns to something else (that is ordinary progress, not a loss).

The write that took W's value away without having seen it is reported as the one that overwrote W:
the first such write that ended after W started, or failing that (a replicated write can arrive after
it was issued) the first such write at all. Values identify effects, so workloads make them unique per
write where it matters (e.g. a per-request token); where two writes set the same value, either one
surviving counts for both, so a loss is only reported when it is certain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lab.verdicts.rows import RowKey

FinalRows = Mapping[str, Mapping[RowKey, Mapping[str, Any] | None]]   # dc -> row key -> row (None: absent)
WRITE_KINDS = ("insert", "update")


@dataclass(frozen=True)
class LostWrite:
    write: dict[str, Any]
    overwritten_by: dict[str, Any] | None


def same(a: Any, b: Any) -> bool:
    """Values compared as the application would: equal, or equal as text (a BIGINT read back vs an int sent)."""
    return a == b or (a is not None and b is not None and str(a) == str(b))


def holds(row: Mapping[str, Any] | None, changes: Mapping[str, Any]) -> bool:
    return row is not None and all(column in row and same(row[column], value) for column, value in changes.items())


def succeeded(record: Mapping[str, Any]) -> bool:
    return not record.get("error") and (record.get("rows_affected") or 0) > 0


def _replaces(other: Mapping[str, Any], changes: Mapping[str, Any]) -> bool:
    """Does `other` take any of these values away (a delete, or setting one of the columns differently)?"""
    if other.get("kind") == "delete":
        return True
    written = other.get("writes") or {}
    return any(column in written and not same(written[column], value) for column, value in changes.items())


def lost_writes(operations: list[dict[str, Any]], final_rows: FinalRows) -> list[LostWrite]:
    """Every successful workload write whose change vanished unseen (see the module docstring)."""
    by_row: dict[RowKey, list[dict[str, Any]]] = {}
    for record in operations:
        if record.get("kind") in (*WRITE_KINDS, "delete") and record.get("table") and succeeded(record):
            by_row.setdefault((record["table"], str(record["key"])), []).append(record)
    lost = []
    for row_key, records in by_row.items():
        for write in records:
            changes = write.get("changes") or {}
            if write["kind"] not in WRITE_KINDS or not changes:
                continue
            if any(holds(rows.get(row_key), changes) for rows in final_rows.values()):
                continue
            others = [r for r in records if r is not write and _replaces(r, changes)]
            if any(holds(r.get("basis"), changes) for r in others):
                continue  # someone saw it and changed it on purpose
            unseen = sorted(others, key=lambda r: r.get("end") or 0)
            later = [r for r in unseen if (r.get("end") or 0) >= (write.get("start") or 0)]
            culprit = (later or unseen or [None])[0]
            lost.append(LostWrite(write, culprit))
    return sorted(lost, key=lambda item: item.write.get("seq") or 0)
