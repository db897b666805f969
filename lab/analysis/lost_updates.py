"""Lost updates: successful writes whose effect no DC holds at the end and that nobody ever read.

A write that a read observed has been 'seen' by the application, so overwriting it afterwards
is ordinary progress. A write that was neither observed nor kept anywhere vanished silently:
that is a lost update.

A write's effect is identified by (key, value, version), which the workloads keep unique per
write. So a read returning that triple proves the write had happened; no ordering of history
records is needed (records of concurrent clients may be appended in either order).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Row = tuple[Any, int]  # (value, version)


def successful_writes(operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [op for op in operations
            if op.get("kind") in ("update", "insert") and not op.get("error") and (op.get("rows_affected") or 0) > 0]


def lost_updates(operations: list[dict[str, Any]], final_rows: Mapping[str, Mapping[Any, Row]]) -> list[dict[str, Any]]:
    """Return the history records of lost writes. `final_rows`: dc -> key -> (value, version)."""
    observed: set[tuple[Any, Any, int]] = set()
    for op in operations:
        if op.get("kind") == "read" and op.get("version") is not None and not op.get("error"):
            observed.add((op["key"], op.get("value"), int(op["version"])))
    lost = []
    for write in successful_writes(operations):
        effect = (write.get("value"), int(write["new_version"]))
        held = any(rows.get(write["key"]) == effect for rows in final_rows.values())
        if not held and (write["key"], *effect) not in observed:
            lost.append(write)
    return lost
