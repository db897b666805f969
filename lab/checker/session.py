"""One connection per DC: session settings, the consistent snapshot, and where each DC was read.

Every query for a DC goes through its one connection, so each server runs at most one checker
query at a time (bounded load) and, with a snapshot, every query sees the same consistent state.
A check in `lanes` (`DCPool.open_lanes`) has one such connection per DC per lane; their snapshots
are started (`DCPool.start_reading`) while the table is held under `LOCK TABLES ... READ` by one
more connection, so every lane reads the same state of the table (MySQL cannot hand one snapshot
to several connections; this is how mydumper shares one between its threads), and the lock is
released at once.
The position a DC was read at is:
- MariaDB: exact, from the snapshot's own `binlog_snapshot_file/position` (as a GTID position
  via BINLOG_GTID_POS when GTIDs exist);
- MySQL: `gtid_executed` (or the binlog file:pos) read just before and just after the snapshot
  starts; if a write slipped in between, the snapshot is retaken (a few times), else marked inexact.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TypeVar

import pymysql

from lab.db.dialects import Dialect, detect
from lab.db.sql import Endpoint, query
from lab.errors import LabError

T = TypeVar("T")
SNAPSHOT_ATTEMPTS = 5
LOCK_WAIT_SECONDS = 10   # how long the lock that shares a snapshot between lanes may wait for writers
BINLOG_OFF = "(binlog off)"


@dataclass
class DCSession:
    dc: str
    endpoint: Endpoint
    connection: pymysql.connections.Connection
    dialect: Dialect
    max_packet: int
    read_at: str = ""
    read_at_exact: bool = False
    queries: int = 0
    seconds: float = field(default=0.0)

    @classmethod
    def open(cls, dc: str, endpoint: Endpoint, read_timeout: float) -> DCSession:
        try:
            connection = endpoint.connect(database="", timeout=10.0, read_timeout=read_timeout)
        except pymysql.err.MySQLError as exc:
            raise LabError(f"{dc}: cannot connect to {endpoint!r}: {exc.args[-1]}") from None
        row = query(connection, "SELECT VERSION() AS v, @@version_comment AS c, @@max_allowed_packet AS p")[0]
        session = cls(dc, endpoint, connection, detect(row["v"], row["c"]), int(row["p"]))
        # Same rendering everywhere: TIMESTAMP in UTC, no truncated GROUP_CONCAT, backslash escapes on.
        session.run("SET SESSION time_zone = '+00:00'")
        session.run(f"SET SESSION group_concat_max_len = {max(1024, session.max_packet - 4096)}")
        session.run("SET SESSION sql_mode = REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '')")
        session.run("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return session

    def run(self, sql: str) -> list[dict]:
        return self._run(sql, pymysql.cursors.DictCursor)

    def run_tuples(self, sql: str) -> list[tuple]:
        """`run` with each row as a tuple in select order: for the whole rows of diverged keys,
        of which a big check holds hundreds of thousands (a dict per row costs time and memory)."""
        return self._run(sql, pymysql.cursors.Cursor)

    def _run(self, sql: str, cursor_class: type[pymysql.cursors.Cursor]) -> list:
        started = time.monotonic()
        try:
            with self.connection.cursor(cursor_class) as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())
        except pymysql.err.MySQLError as exc:
            raise LabError(f"{self.dc}: query failed: {exc.args[-1]} (in: {sql[:160]})") from None
        finally:
            self.queries += 1
            self.seconds += time.monotonic() - started

    def run_with(self, sql: str, args: object = None) -> list[dict]:
        """`run` with parameters: how the dialect reads server state through this session."""
        if args is not None:
            with self.connection.cursor() as cursor:
                sql = cursor.mogrify(sql, args)
        return self.run(sql)

    # --- where this DC is read ------------------------------------------------------------
    def position(self) -> str:
        gtid = self.dialect.gtid_position(self.run_with)
        if gtid is not None:
            return gtid
        status = self.dialect.binlog_position(self.run_with)
        return f"{status.file}:{status.position}" if status else BINLOG_OFF

    def start_snapshot(self) -> None:
        """Start the snapshot and learn where it was read: exactly where the server reports it, else by
        reading the position just before and after it starts (retaken if a write slipped in between)."""
        if self.dialect.reports_snapshot_position:
            self.run("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            self.read_at, self.read_at_exact = self.dialect.snapshot_position(self.run_with) or BINLOG_OFF, True
            return
        for _attempt in range(SNAPSHOT_ATTEMPTS):
            before = self.position()
            self.run("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            after = self.position()
            self.read_at, self.read_at_exact = after, before == after
            if self.read_at_exact:
                return
            self.run("ROLLBACK")
        self.run("START TRANSACTION WITH CONSISTENT SNAPSHOT")

    def read_without_snapshot(self) -> None:
        self.read_at, self.read_at_exact = self.position(), False

    def close(self) -> None:
        try:
            if self.connection.open:
                self.connection.rollback()
                self.connection.close()
        except pymysql.err.MySQLError:
            pass


@contextmanager
def _read_lock(dc: str, endpoint: Endpoint, table: str, lanes: int) -> Iterator[None]:
    """`table` held under LOCK TABLES ... READ on a connection of its own: readers go on, writers wait."""
    try:
        connection = endpoint.connect(database="", timeout=10.0)
    except pymysql.err.MySQLError as exc:
        raise LabError(f"{dc}: cannot connect to {endpoint!r}: {exc.args[-1]}") from None
    try:
        try:
            query(connection, f"SET SESSION lock_wait_timeout = {LOCK_WAIT_SECONDS}")
            query(connection, f"LOCK TABLES {table} READ")
        except pymysql.err.MySQLError as exc:
            # compare_table's parameters and the CLI's options both named: API callers read it too
            raise LabError(f"{dc}: {lanes} lanes share one snapshot by locking {table} for reading a moment, "
                           f"which failed: {exc.args[-1]}; check in one lane (--parallel 1, parallel=1), or "
                           "without a snapshot (--no-snapshot, snapshot=False)") from None
        yield
    finally:
        with suppress(pymysql.err.MySQLError):
            query(connection, "UNLOCK TABLES")   # answered once released (a disconnect releases it later)
        with suppress(pymysql.err.MySQLError):
            connection.close()


class DCPool:
    """The sessions of every DC, plus a thread per DC so their queries run in parallel."""

    def __init__(self, sessions: dict[str, DCSession]) -> None:
        self.sessions = sessions
        self.reference = next(iter(sessions))
        self._executor = ThreadPoolExecutor(max_workers=max(1, len(sessions)), thread_name_prefix="checker")

    @classmethod
    def open(cls, endpoints: Mapping[str, Endpoint], *, snapshot: bool, read_timeout: float) -> DCPool:
        pools = cls.open_lanes(endpoints, 1, read_timeout=read_timeout)
        cls.start_reading(pools, snapshot=snapshot, tables={})
        return pools[0]

    @classmethod
    def open_lanes(cls, endpoints: Mapping[str, Endpoint], lanes: int, *, read_timeout: float) -> list[DCPool]:
        """`lanes` pools, each with its own session on every DC, not reading yet (see `start_reading`): the caller
        may first learn from the first pool how many lanes the table allows, and close the others."""
        if not endpoints:
            raise LabError("compare_table: no endpoints given")
        wanted = [(lane, dc, ep) for lane in range(lanes) for dc, ep in endpoints.items()]
        with ThreadPoolExecutor(max_workers=len(wanted)) as executor:
            futures = {(lane, dc): executor.submit(DCSession.open, dc, ep, read_timeout) for lane, dc, ep in wanted}
            opened, failure = {}, None
            for where, future in futures.items():
                try:
                    opened[where] = future.result()
                except LabError as exc:
                    failure = failure or exc
        if failure:  # close what did open; never compare with a DC missing
            for session in opened.values():
                session.close()
            raise failure
        return [cls({dc: opened[lane, dc] for dc in endpoints}) for lane in range(lanes)]

    @staticmethod
    def start_reading(pools: list[DCPool], *, snapshot: bool, tables: Mapping[str, str]) -> None:
        """Start every pool's snapshot (or note where each DC is read without one). With more than one pool, each
        DC's `tables[dc]` (quoted name) is locked for reading while its pools start their snapshots (module
        docstring): every lane reads the same rows, and the first pool's session knows where they were read.
        Closes every pool if that fails."""
        first, others = pools[0], pools[1:]
        lanes = len(pools)

        def start(session: DCSession) -> None:
            if not snapshot:
                session.read_without_snapshot()
                for pool in others:
                    pool.sessions[session.dc].read_without_snapshot()
            elif not others:
                session.start_snapshot()
            else:
                endpoint = session.endpoint
                with _read_lock(session.dc, endpoint, tables[session.dc], lanes):
                    session.start_snapshot()
                    for pool in others:
                        lane = pool.sessions[session.dc]
                        lane.run("START TRANSACTION WITH CONSISTENT SNAPSHOT")
                        lane.read_at, lane.read_at_exact = session.read_at, session.read_at_exact

        try:
            first.map(start)   # start every snapshot at (nearly) the same moment
        except BaseException:
            for pool in pools:
                pool.close()
            raise

    def submit(self, function: Callable[[DCSession], T], dcs: list[str] | None = None) -> dict[str, Future[T]]:
        """Start `function` on each DC's session, in its DC's thread; the futures in DC order. Submit again
        only once these are done: a session runs one query at a time."""
        return {dc: self._executor.submit(function, self.sessions[dc]) for dc in dcs or list(self.sessions)}

    def map(self, function: Callable[[DCSession], T], dcs: list[str] | None = None) -> dict[str, T]:
        """Run `function` on each DC's session in parallel; dict in DC order."""
        return {dc: future.result() for dc, future in self.submit(function, dcs).items()}

    def run_each(self, sql_for: Callable[[DCSession], str], dcs: list[str] | None = None) -> dict[str, list[dict]]:
        return self.map(lambda s: s.run(sql_for(s)), dcs)

    def close(self) -> None:
        for session in self.sessions.values():
            session.close()
        self._executor.shutdown(wait=False)

    def __enter__(self) -> DCPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
