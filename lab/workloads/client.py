"""The client every workload uses: reads that record what they returned, writes that record their intent.

A write's history record carries `table`, `key`, `op` (the application operation, e.g. `put`),
`changes` (the columns the user meant to change, with their new values), `writes` (every column the
statement sets) and `basis` (the row it was computed from, if any). Lost updates are computed from
exactly these fields (lab.analysis.field_updates).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lab.workload.client import AUTO_KEY, Outcome, RecordingClient


def key_text(values: Iterable[Any]) -> str:
    """A primary key as one string: the value itself, or values joined by '|' for a composite key."""
    return "|".join(str(v) for v in values)


class WorkloadClient(RecordingClient):
    dc_index: int = 0   # position of its DC in the topology (per-DC numbering, offsets)
    dc_count: int = 1

    def note(self, op: str, outcome: str, *, table: str, key: Any, **fields: Any) -> None:
        """Record an application decision that ran no statement (e.g. a transition refused by validation)."""
        self.history.append("op", dc=self.dc, server=self.server.name, client=self.client_id, kind="app",
                            op=op, outcome=outcome, table=table, key=str(key), **self.tags, **fields)

    def read_row(self, table: str, key: dict[str, Any], op: str) -> tuple[Outcome, dict[str, Any] | None]:
        """SELECT the row with this primary key; the record keeps the row it returned (`row`)."""
        where = " AND ".join(f"{column} = %({column})s" for column in key)

        def seen(rows: list[dict]) -> dict[str, Any]:
            return {"row": rows[0] if rows else None}

        outcome, rows = self.run(f"SELECT * FROM {table} WHERE {where}", dict(key), "read", observe=seen,
                                 table=table, key=key_text(key.values()), op=op)
        return outcome, (rows[0] if rows else None)

    def select(self, sql: str, params: dict[str, Any], op: str, table: str | None = None) -> tuple[Outcome, list]:
        """Any other read (e.g. MAX(number)+1); recorded with its result rows."""
        return self.run(sql, params, "read_query", observe=lambda rows: {"result": rows}, table=table, op=op)

    def write(self, kind: str, sql: str, params: dict[str, Any], *, table: str, key: dict[str, Any], op: str,
              changes: dict[str, Any], writes: dict[str, Any] | None = None,
              basis: dict[str, Any] | None = None, **fields: Any) -> Outcome:
        """An INSERT, UPDATE or DELETE of one row, recorded with what it meant to change.

        A key of `{column: AUTO_KEY}` is recorded as the AUTO_INCREMENT value the insert generated.
        """
        text = AUTO_KEY if AUTO_KEY in key.values() else key_text(key.values())
        outcome, _ = self.run(sql, params, kind, table=table, key=text, op=op, changes=changes,
                              writes=writes if writes is not None else changes, basis=basis, **fields)
        return outcome

