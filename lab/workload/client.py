"""An optimistic-locking application client bound to one DC: read a row and its version, write guarded.

Every statement it issues is recorded in the history with its outcome, so verdicts can be
recomputed from the evidence. Errors (deadlock, lock wait timeout, lost connection) are
outcomes, not crashes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pymysql

from lab.history import History
from lab.server import Server
from lab.workload.clock import AppClock
from lab.workload.guards import Guard


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


class AppClient:
    """One application instance in one DC, with its own connection and clock."""

    def __init__(self, *, dc: str, server: Server, client_id: str, guard: Guard, history: History,
                 table: VersionedTable, clock: AppClock | None = None) -> None:
        self.dc, self.server, self.client_id = dc, server, client_id
        self.guard, self.history, self.table = guard, history, table
        self.clock = clock or AppClock()
        self.tags: dict[str, Any] = {}  # merged into every history record, e.g. the planned op index
        self._connection: pymysql.connections.Connection | None = None

    def _conn(self) -> pymysql.connections.Connection:
        if self._connection is None or not self._connection.open:
            self._connection = self.server.connect(timeout=5.0, read_timeout=30.0)
        return self._connection

    def close(self) -> None:
        if self._connection is not None and self._connection.open:
            self._connection.close()
        self._connection = None

    def _run(self, sql: str, params: dict[str, Any], kind: str, **fields: Any) -> tuple[Outcome, list[dict]]:
        started = time.time()
        rows: list[dict] = []
        error: str | None = None
        affected: int | None = None
        statement = sql
        try:
            connection = self._conn()
            with connection.cursor() as cursor:
                statement = cursor.mogrify(sql, params)
                affected = cursor.execute(sql, params)
                rows = list(cursor.fetchall()) if kind.startswith("read") else []
        except pymysql.err.MySQLError as exc:
            code = exc.args[0] if exc.args else "?"
            error = f"{code}: {exc.args[1] if len(exc.args) > 1 else exc}"
            self.close()
        outcome = Outcome(affected, error)
        if kind == "read" and rows:
            outcome.value, outcome.version = rows[0]["value"], int(rows[0]["version"])
        self.history.append(
            "op", dc=self.dc, server=self.server.name, client=self.client_id, kind=kind, guard=self.guard.name,
            statement=statement, rows_affected=affected, error=error, start=started, end=time.time(),
            **self.tags, **fields, **({"value": outcome.value, "version": outcome.version} if kind == "read" else {}),
        )
        return outcome, rows

    def read(self, key: int) -> Outcome:
        t = self.table
        sql = f"SELECT {t.value} AS value, {t.version} AS version FROM {t.name} WHERE {t.key} = %(key)s"
        outcome, _ = self._run(sql, {"key": key}, "read", key=key)
        return outcome

    def update(self, key: int, value: str, read_version: int | None, new_version: int) -> Outcome:
        t = self.table
        sql = (f"UPDATE {t.name} SET {t.value} = %(value)s, {t.version} = %(new)s "
               f"WHERE {self.guard.where(t.key, t.version)}")
        params = {"key": key, "value": value, "read": read_version, "new": new_version}
        outcome, _ = self._run(sql, params, "update", key=key, value=value, read_version=read_version,
                               new_version=new_version)
        return outcome

    def insert(self, key: int, value: str, version: int) -> Outcome:
        t = self.table
        sql = f"INSERT INTO {t.name} ({t.key}, {t.value}, {t.version}) VALUES (%(key)s, %(value)s, %(new)s)"
        outcome, _ = self._run(sql, {"key": key, "value": value, "new": version}, "insert", key=key, value=value,
                               new_version=version)
        return outcome

    def next_key(self) -> int | None:
        """MAX(key)+1 as this DC sees it: how apps that hand out 'the next number' pick a key."""
        t = self.table
        outcome, rows = self._run(f"SELECT COALESCE(MAX({t.key}), 0) + 1 AS next_key FROM {t.name}", {},
                                  "read_max", key=None)
        return int(rows[0]["next_key"]) if rows and not outcome.error else None

    def delete(self, key: int, read_version: int | None, new_version: int) -> Outcome:
        t = self.table
        sql = f"DELETE FROM {t.name} WHERE {self.guard.where(t.key, t.version)}"
        params = {"key": key, "read": read_version, "new": new_version}
        outcome, _ = self._run(sql, params, "delete", key=key, read_version=read_version, new_version=new_version)
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
