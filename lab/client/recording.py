"""One application instance bound to one DC, with its own connection: every statement it runs is a history record.

Reads record what they returned; writes record their intent. A write's record carries `table`,
`key`, `op` (the application operation, e.g. `put`), `changes` (the columns the user meant to
change, with their new values), `writes` (every column the statement sets) and `basis` (the row it
was computed from, if any). Lost updates are computed from exactly these fields
(lab.verdicts.lost_updates). Errors (deadlock, lock wait timeout, lost connection) are outcomes,
recorded with their errno, not crashes.

Inside a transaction (`begin` ... `commit`) the statements' records are held back and written when
the transaction ends, with the outcome of the whole transaction: a write whose transaction was
rolled back at COMMIT (or by a later statement's error) carries that error, and `rejected_by:
certification` when the errno is one the replication design gives to a transaction it certified
against another member's write and rolled back. Such a write is never counted as acknowledged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pymysql

from lab.client.clock import AppClock
from lab.db.server import Server
from lab.history import History

# A history `key` to fill in after an INSERT from the AUTO_INCREMENT value the server generated.
AUTO_KEY = "<auto_increment>"


def key_text(values: Iterable[Any]) -> str:
    """A primary key as one string: the value itself, or values joined by '|' for a composite key."""
    return "|".join(str(v) for v in values)


@dataclass
class Outcome:
    rows_affected: int | None
    error: str | None
    insert_id: int | None = None   # the AUTO_INCREMENT value an INSERT generated
    certification: bool = False    # the error is a certification rollback (see `Client.certification_errnos`)

    @property
    def errno(self) -> int | None:
        return errno_of(self.error)


def errno_of(error: str | None) -> int | None:
    """The errno of a recorded error (`"1213: Deadlock ..."`), None for no error or a non-server one."""
    head = str(error or "").split(":", 1)[0]
    return int(head) if head.isdigit() else None


class Client:
    """Runs and records statements for one application instance (`client_id`) in one DC.

    `guard` is the update guard the application uses (lab.workloads.guards), `clock` its DC's clock.
    `dc_index`/`dc_count` place its DC among the topology's DCs (per-DC numbering, offsets).
    `certification_errnos` are the errors the lab's replication design gives to a write it rolled back because
    another member's conflicting write was certified first (lab.db.designs); none for asynchronous designs.
    """

    def __init__(self, *, dc: str, server: Server, client_id: str, history: History,
                 clock: AppClock | None = None, guard: Any = None, dc_index: int = 0, dc_count: int = 1,
                 certification_errnos: frozenset[int] = frozenset()) -> None:
        self.dc, self.server, self.client_id = dc, server, client_id
        self.history = history
        self.clock = clock or AppClock()
        self.guard = guard
        self.dc_index, self.dc_count = dc_index, dc_count
        self.tags: dict[str, Any] = {}  # merged into every history record, e.g. the planned op index
        self.session_sql: list[str] = []  # run on every new connection, e.g. SET SESSION auto_increment_offset
        self.certification_errnos = certification_errnos
        self._connection: pymysql.connections.Connection | None = None
        self._pending: list[dict[str, Any]] | None = None   # records of the open transaction, None outside one
        self._transactions = 0

    def _conn(self) -> pymysql.connections.Connection:
        if self._connection is None or not self._connection.open:
            self._connection = self.server.connect(timeout=5.0, read_timeout=30.0)
            with self._connection.cursor() as cursor:
                for statement in self.session_sql:
                    cursor.execute(statement)
        return self._connection

    def close(self) -> None:
        if self._connection is not None and self._connection.open:
            self._connection.close()
        self._connection = None

    def run(self, sql: str, params: dict[str, Any], kind: str, *, fetch: bool = False,
            observe: Callable[[list[dict]], dict[str, Any]] | None = None,
            **fields: Any) -> tuple[Outcome, list[dict]]:
        """Run one statement and record it with its outcome.

        `fetch` returns the rows; `observe` turns them into fields of the record (what a read saw), so
        a verdict can later tell which writes the application had seen.
        """
        started = time.time()
        rows: list[dict] = []
        error: str | None = None
        affected: int | None = None
        insert_id: int | None = None
        statement = sql
        try:
            connection = self._conn()
            with connection.cursor() as cursor:
                statement = cursor.mogrify(sql, params)
                affected = cursor.execute(statement)   # already rendered: the parameters are escaped once
                rows = list(cursor.fetchall()) if fetch or observe else []
                insert_id = cursor.lastrowid or None if kind == "insert" else None
        except pymysql.err.MySQLError as exc:
            code = exc.args[0] if exc.args else "?"
            error = f"{code}: {exc.args[1] if len(exc.args) > 1 else exc}"
            self.close()
        if fields.get("key") == AUTO_KEY:
            fields["key"] = None if insert_id is None else str(insert_id)
        if observe is not None:
            fields.update(observe(rows))
        certified = errno_of(error) in self.certification_errnos
        record = {"dc": self.dc, "server": self.server.name, "client": self.client_id, "kind": kind,
                  "guard": self.guard.name if self.guard else None, "statement": statement,
                  "rows_affected": affected, "error": error, "start": started, "end": time.time(),
                  **({"rejected_by": "certification"} if certified else {}), **self.tags, **fields}
        if self._pending is not None:
            record["transaction"] = f"{self.client_id}#{self._transactions}"
            self._pending.append(record)
            if error:   # the server rolled the transaction back, or the lost connection did
                self._settle(error)
        else:
            self.history.append("op", **record)
        return Outcome(affected, error, insert_id=insert_id, certification=certified), rows

    # --- transactions -----------------------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return self._pending is not None

    def begin(self) -> Outcome:
        """Open a transaction: the following statements are recorded when it ends, with its outcome."""
        if self._pending is not None:
            raise ValueError(f"client {self.client_id!r} already has an open transaction")
        outcome, _ = self.run("BEGIN", {}, "begin")
        if not outcome.error:
            self._transactions += 1
            self._pending = []
        return outcome

    def commit(self) -> Outcome:
        """COMMIT, then record the transaction's statements: on a failed commit each write carries the
        commit's error (a write rolled back at commit is not acknowledged). Nothing to do if a statement's
        error already ended the transaction."""
        if self._pending is None:
            return Outcome(None, None)
        pending, self._pending = self._pending, None
        outcome, _ = self.run("COMMIT", {}, "commit", transaction=f"{self.client_id}#{self._transactions}")
        self._pending = pending
        self._settle(outcome.error)
        return outcome

    def _settle(self, error: str | None) -> None:
        """Write the held records of the transaction, each with the transaction's fate."""
        pending, self._pending = self._pending or [], None
        certified = errno_of(error) in self.certification_errnos
        for record in pending:
            if error and not record["error"]:
                record.update(error=error, rolled_back=True)
                if certified:
                    record["rejected_by"] = "certification"
            self.history.append("op", **record)

    # --- what applications do ---------------------------------------------------------------
    def note(self, op: str, outcome: str, *, table: str, key: Any, **fields: Any) -> None:
        """Record an application decision that ran no statement (e.g. a transition refused by validation)."""
        self.history.append("op", dc=self.dc, server=self.server.name, client=self.client_id, kind="app",
                            op=op, outcome=outcome, table=table, key=str(key), **self.tags, **fields)

    def read_row(self, table: str, key: dict[str, Any], op: str,
                 **fields: Any) -> tuple[Outcome, dict[str, Any] | None]:
        """SELECT the row with this primary key; the record keeps the row it returned (`row`)."""
        where = " AND ".join(f"{column} = %({column})s" for column in key)

        def seen(rows: list[dict]) -> dict[str, Any]:
            return {"row": rows[0] if rows else None}

        outcome, rows = self.run(f"SELECT * FROM {table} WHERE {where}", dict(key), "read", observe=seen,
                                 table=table, key=key_text(key.values()), op=op, **fields)
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
