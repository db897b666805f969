"""Thin PyMySQL helpers: one way to connect and query across the lab."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pymysql
import pymysql.cursors


@dataclass(frozen=True)
class Endpoint:
    """How to reach a server from the host. The password is never printed (repr hides it)."""

    host: str
    port: int
    user: str
    password: str
    database: str | None = None

    def __repr__(self) -> str:
        return f"Endpoint({self.user}@{self.host}:{self.port}/{self.database or ''})"

    def connect(self, *, database: str | None = None, timeout: float = 5.0, autocommit: bool = True,
                read_timeout: float | None = 60.0) -> pymysql.connections.Connection:
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database if database is not None else self.database,
            connect_timeout=timeout,
            read_timeout=read_timeout,
            write_timeout=read_timeout,
            autocommit=autocommit,
            cursorclass=pymysql.cursors.DictCursor,
            charset="utf8mb4",
        )


def query(connection: pymysql.connections.Connection, sql: str, args: Sequence[Any] | None = None) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return list(cursor.fetchall())


def execute(connection: pymysql.connections.Connection, sql: str, args: Sequence[Any] | None = None) -> int:
    """Run one statement; return rows affected."""
    with connection.cursor() as cursor:
        return cursor.execute(sql, args)
