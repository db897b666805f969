"""Replication links: wiring, status, and the catch-up primitive every experiment relies on.

Catch-up means: every replica has applied everything its source has written to its binary
log. How "everything" is measured depends on the flavor and GTID mode:
- MySQL with GTIDs: the source's binlogged GTID set must be a subset of the replica's gtid_executed;
- MariaDB with GTIDs: per GTID domain, the replica's sequence must reach the source's binlog position;
- position-based: the replica's executed source coordinates must reach the source's binlog file/offset.
Waiting never hangs on a broken link: a stopped applier or receiver with an error is returned.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import pymysql

from lab.db.dialects import LinkStatus, Run, SourceProgress, SourceSpec
from lab.db.server import Server
from lab.db.sql import query
from lab.db.topology import LinkSpec

T = TypeVar("T")

RECEIVER_TIMEOUT_S = 5

# IO errors that mean "the source is unreachable for now"; replication retries them by itself.
TRANSIENT_IO_ERRNOS = {2003, 2005, 2013, 2026, 1040, 1159, 1158}


@dataclass
class LinkReport:
    source: str
    replica: str
    status: LinkStatus | None
    caught_up: bool = False
    broken: bool = False
    detail: str = ""

    @property
    def name(self) -> str:
        return f"{self.source}->{self.replica}"

    @property
    def errors(self) -> list[str]:
        found = []
        if self.status and self.status.last_sql_errno:
            found.append(f"{self.name} SQL error {self.status.last_sql_errno}: {self.status.last_sql_error}")
        if self.status and self.status.last_io_errno:
            found.append(f"{self.name} IO error {self.status.last_io_errno}: {self.status.last_io_error}")
        return found


@dataclass
class CatchUpResult:
    caught_up: bool
    seconds: float
    links: list[LinkReport] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [error for link in self.links for error in link.errors]

    def summary(self) -> str:
        state = "caught up" if self.caught_up else "NOT caught up"
        lines = [f"replication {state} after {self.seconds:.2f}s"]
        lines += [f"  {link.name}: {link.detail}" for link in self.links if not link.caught_up]
        lines += [f"  {error}" for error in self.errors]
        return "\n".join(lines)


def link_status(replica: Server, sessions: Sessions | None = None) -> LinkStatus | None:
    rows = _with_session(sessions, replica, lambda c: query(c, replica.dialect.replica_status()))
    return replica.dialect.parse_link_status(rows[0]) if rows else None


def wire(source: Server, replica: Server, link: LinkSpec, replication_user: str, replication_password: str,
         use_gtid: bool) -> None:
    """Point `replica` at `source` over the lab network and start both replication threads."""
    dialect = replica.dialect
    spec = SourceSpec(
        host=source.name,
        port=3306,
        user=replication_user,
        password=replication_password,
        use_gtid=use_gtid,
        delay_seconds=link.delay,
    )
    # A short receiver timeout (above the 1 s heartbeat) makes a silent partition visible within seconds.
    statements = [dialect.stop_replica(), dialect.reset_replica_all(), dialect.set_net_timeout(RECEIVER_TIMEOUT_S)]
    if link.parallel_workers is not None:
        statements.append(dialect.set_parallel_workers(link.parallel_workers))
    statements += [dialect.change_source(spec), dialect.start_replica()]
    replica.execute(*statements)
    await_receiver(replica)


RECEIVER_SETTLE_S = 5.0   # longest wait for a started receiver to connect


def await_receiver(replica: Server, settle: float = RECEIVER_SETTLE_S) -> None:
    """Return once the replica's receiver is connected ('Yes'), has failed to connect, or `settle` has passed.

    MariaDB's receiver goes from 'Connecting' through 'Preparing' to 'Yes' after START SLAVE. A caller that
    returned in between left a link that was neither running nor stopped: fresh-clone CI caught it after
    heals, and after a reset (a lab is caught up at once when nothing was written, whatever its receivers
    do). Bounded: a receiver whose source is unreachable stays 'Connecting' until its attempt fails."""
    deadline = time.monotonic() + settle
    while (status := link_status(replica)) is not None and status.io_running != "Yes" \
            and not status.last_io_errno and time.monotonic() < deadline:
        time.sleep(0.02)


class Sessions:
    """One open connection per server for the length of a wait, instead of a new TLS handshake per probe."""

    def __init__(self) -> None:
        self._open: dict[str, pymysql.connections.Connection] = {}
        self._lock = threading.Lock()

    def get(self, server: Server) -> pymysql.connections.Connection:
        with self._lock:
            connection = self._open.get(server.name)
            if connection is None or not connection.open:
                connection = server.connect(timeout=5.0, read_timeout=30.0)
                self._open[server.name] = connection
            return connection

    def drop(self, server: Server) -> None:
        with self._lock:
            connection = self._open.pop(server.name, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        with self._lock:
            for connection in self._open.values():
                connection.close()
            self._open.clear()


def _with_session(sessions: Sessions | None, server: Server, work: Callable[[pymysql.connections.Connection], T]) -> T:
    if sessions is None:
        with server.connect() as connection:
            return work(connection)
    try:
        return work(sessions.get(server))
    except pymysql.err.OperationalError:
        sessions.drop(server)  # the server restarted or the link dropped: retry once on a fresh session
        return work(sessions.get(server))


def _runner(sessions: Sessions | None, server: Server) -> Run:
    """Run statements on `server` through the wait's session (reconnecting once if it dropped)."""
    return lambda sql, args=None: _with_session(sessions, server, lambda c: query(c, sql, args))


def source_progress(source: Server, use_gtid: bool, sessions: Sessions | None = None) -> SourceProgress:
    return source.dialect.source_progress(_runner(sessions, source), use_gtid)


def replica_reached(replica: Server, status: LinkStatus, target: SourceProgress,
                    sessions: Sessions | None = None) -> bool:
    return replica.dialect.replica_reached(_runner(sessions, replica), status, target)


def _broken(status: LinkStatus | None) -> str:
    """Why a link cannot make progress by itself, or '' if it still can."""
    if status is None:
        return "not configured"
    if status.sql_running != "Yes":
        return f"applier stopped (SQL error {status.last_sql_errno}: {status.last_sql_error or 'stopped'})"
    if status.io_running == "No":
        if status.last_io_errno and status.last_io_errno not in TRANSIENT_IO_ERRNOS:
            return f"receiver stopped (IO error {status.last_io_errno}: {status.last_io_error})"
        return "receiver stopped"
    return ""


@dataclass(frozen=True)
class Link:
    source: Server
    replica: Server
    use_gtid: bool


def catch_up(links: list[Link], timeout: float = 60.0, poll: float = 0.02,
             on_wait: Callable[[float], None] | None = None) -> CatchUpResult:
    """Wait until every link has applied all its source has binlogged, twice in a row with no new writes.

    The second, confirming round matters in rings: applying on one server can produce
    binlog on it that the next server must then apply.
    """
    sessions = Sessions()
    try:
        with ThreadPoolExecutor(max_workers=max(1, len(links))) as pool:
            return _wait(links, timeout, poll, on_wait, sessions, pool)
    finally:
        sessions.close()


def _wait(links: list[Link], timeout: float, poll: float, on_wait: Callable[[float], None] | None,
          sessions: Sessions, pool: ThreadPoolExecutor) -> CatchUpResult:
    started = time.monotonic()
    previous: dict[str, SourceProgress] | None = None
    while True:
        sources = {link.source.name: link for link in links}
        progress = dict(zip(sources, pool.map(
            lambda item: source_progress(item.source, item.use_gtid, sessions), sources.values()), strict=True))
        statuses = list(pool.map(lambda link: link_status(link.replica, sessions), links))
        reports = []
        for link, status in zip(links, statuses, strict=True):
            report = LinkReport(link.source.name, link.replica.name, status)
            why = _broken(status)
            if why:
                report.broken, report.detail = True, why
            elif replica_reached(link.replica, status, progress[link.source.name], sessions):
                report.caught_up, report.detail = True, "caught up"
            else:
                report.detail = f"behind (IO {status.io_running}, lag {status.seconds_behind})"
            reports.append(report)
        elapsed = time.monotonic() - started
        if all(r.caught_up for r in reports):
            if previous == progress:
                return CatchUpResult(True, elapsed, reports)
            previous = progress
            continue
        previous = None
        if any(r.broken for r in reports) and all(r.caught_up or r.broken for r in reports):
            return CatchUpResult(False, elapsed, reports)
        if elapsed > timeout:
            for report in reports:
                if not report.caught_up and not report.broken:
                    report.detail += f"; timed out after {timeout:.0f}s"
            return CatchUpResult(False, elapsed, reports)
        if on_wait:
            on_wait(elapsed)
        time.sleep(poll)
