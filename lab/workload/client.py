"""An optimistic-locking application client bound to one DC: read a row and its version, write guarded.

Every statement it issues is recorded in the history with its outcome, so verdicts can be
recomputed from the evidence. Errors (deadlock, lock wait timeout, lost connection) are
outcomes, not crashes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymysql

from lab.history import History
from lab.server import Server
from lab.workload.clock import AppClock
from lab.workload.guards import Guard

# A history `key` to fill in after an INSERT from the AUTO_INCREMENT value the server generated.
AUTO_KEY = "<auto_increment>"


@dataclass(frozen=True)
class VersionedTable:
    """Which columns hold the key, the payload and the version."""

    name: str = "users"
    key: str = "id"
    value: str = "first_name"
    version: str = "version"

    def create_sql(self) -> str:
        return (f"CREATE TABLE {self.name} ({self.key} BIGINT PRIMARY KEY, {self.value} VARCHAR(64) NOT NULL, "
                f"{self.version} BIGINT NOT NULL)")


@dataclass
class Outcome:
    rows_affected: int | None
    error: str | None
    value: Any = None
    version: int | None = None
    insert_id: int | None = None   # the AUTO_INCREMENT value an INSERT generated


class RecordingClient:
    """One application instance in one DC with its own connection: every statement it runs is a history record.

    Subclasses add the statements of one application model; the recording, the reconnect after an
    error and the error-as-outcome rule live here once.
    """

    def __init__(self, *, dc: str, server: Server, client_id: str, history: History,
                 clock: AppClock | None = None, guard: Guard | None = None) -> None:
        self.dc, self.server, self.client_id = dc, server, client_id
        self.history = history
        self.clock = clock or AppClock()
        self.guard = guard
        self.tags: dict[str, Any] = {}  # merged into every history record, e.g. the planned op index
        self.session_sql: list[str] = []  # run on every new connection, e.g. SET SESSION auto_increment_offset
        self._connection: pymysql.connections.Connection | None = None

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
                affected = cursor.execute(sql, params)
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
        self.history.append(
            "op", dc=self.dc, server=self.server.name, client=self.client_id, kind=kind,
            guard=self.guard.name if self.guard else None, statement=statement, rows_affected=affected,
            error=error, start=started, end=time.time(), **self.tags, **fields,
        )
        return Outcome(affected, error, insert_id=insert_id), rows


class AppClient(RecordingClient):
    """The incident's application: one versioned table, guarded read-modify-writes."""

    guard: Guard

    def __init__(self, *, dc: str, server: Server, client_id: str, guard: Guard, history: History,
                 table: VersionedTable, clock: AppClock | None = None) -> None:
        super().__init__(dc=dc, server=server, client_id=client_id, history=history, clock=clock, guard=guard)
        self.table = table

    def read(self, key: int) -> Outcome:
        t = self.table
        sql = f"SELECT {t.value} AS value, {t.version} AS version FROM {t.name} WHERE {t.key} = %(key)s"

        def seen(rows: list[dict]) -> dict[str, Any]:
            first = rows[0] if rows else {}
            return {"value": first.get("value"), "version": None if not first else int(first["version"])}

        outcome, rows = self.run(sql, {"key": key}, "read", observe=seen, key=key)
        if rows:
            outcome.value, outcome.version = rows[0]["value"], int(rows[0]["version"])
        return outcome

    def update(self, key: int, value: str, read_version: int | None, new_version: int) -> Outcome:
        t = self.table
        sql = (f"UPDATE {t.name} SET {t.value} = %(value)s, {t.version} = %(new)s "
               f"WHERE {self.guard.where(t.key, t.version)}")
        params = {"key": key, "value": value, "read": read_version, "new": new_version}
        outcome, _ = self.run(sql, params, "update", key=key, value=value, read_version=read_version,
                               new_version=new_version)
        return outcome

    def insert(self, key: int, value: str, version: int) -> Outcome:
        t = self.table
        sql = f"INSERT INTO {t.name} ({t.key}, {t.value}, {t.version}) VALUES (%(key)s, %(value)s, %(new)s)"
        outcome, _ = self.run(sql, {"key": key, "value": value, "new": version}, "insert", key=key, value=value,
                               new_version=version)
        return outcome

    def next_key(self) -> int | None:
        """MAX(key)+1 as this DC sees it: how apps that hand out 'the next number' pick a key."""
        t = self.table
        outcome, rows = self.run(f"SELECT COALESCE(MAX({t.key}), 0) + 1 AS next_key FROM {t.name}", {},
                                 "read_max", fetch=True, key=None)
        return int(rows[0]["next_key"]) if rows and not outcome.error else None

    def delete(self, key: int, read_version: int | None, new_version: int) -> Outcome:
        t = self.table
        sql = f"DELETE FROM {t.name} WHERE {self.guard.where(t.key, t.version)}"
        params = {"key": key, "read": read_version, "new": new_version}
        outcome, _ = self.run(sql, params, "delete", key=key, read_version=read_version, new_version=new_version)
        return outcome

    def read_modify_write(self, key: int, value: str, new_version: int | None = None,
                          version_step: int | None = None) -> tuple[Outcome, Outcome]:
        """Read, then write guarded with what was read. The new version comes from the DC clock unless given."""
        seen = self.read(key)
        if seen.error or seen.version is None:
            return seen, Outcome(None, seen.error or "row not found")
        if new_version is None:
            new_version = seen.version + version_step if version_step else self.clock.now_ms()
        return seen, self.update(key, value, seen.version, new_version)
