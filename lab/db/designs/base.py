"""What every replication design answers, so that a lab starts, waits and resets the same way whatever the design.

A design is asked at each stage of a lab's life: which options and files its servers start with, how
they form once they answer (wire links, bootstrap a group, wait for a cluster), when every member has
applied everything (catch-up), how a cell returns to a clean state (reset), what a member needs after
a fault restarted or cut it off (rejoin), and what its members' state is (status, samples, checks).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from lab.db.dialects import Dialect
from lab.db.replication import CatchUpResult, LinkReport
from lab.db.server import SCHEMA, Server
from lab.db.topology import ResolvedServer, ResolvedTopology

if TYPE_CHECKING:
    from lab.db.lab import Lab

SYSTEM_SCHEMAS = ("mysql", "sys", "information_schema", "performance_schema")
QUICK = {"timeout": 2.0, "read_timeout": 3.0}   # member-state reads must not hang on a paused server


@dataclass
class MemberReport:
    """One member of a certifying design, as catch-up sees it."""

    server: str
    state: str                       # ONLINE / Synced / ..., or "unreachable"
    caught_up: bool = False
    broken: bool = False             # cannot catch up by itself (ERROR, OFFLINE, non-primary ...)
    progress: str = ""               # what it has applied: a GTID set, a last committed seqno
    detail: dict[str, Any] = field(default_factory=dict)

    def as_link_report(self, design: str) -> LinkReport:
        """In catch-up results beside async links: `group -> dc2: ONLINE, applied ...`."""
        report = LinkReport(design, self.server, None, self.caught_up, self.broken,
                            f"{self.state}" + (f", {self.progress}" if self.progress else ""))
        return report


class Design:
    """Base: an asynchronous-like design with nothing to form. Subclasses override what differs."""

    name: ClassVar[str] = ""
    certifying: ClassVar[bool] = False   # members certify conflicting writes; there are no appliers to hold

    def __init__(self, topology: ResolvedTopology) -> None:
        self.topology = topology

    @property
    def label(self) -> str:
        """The design as results name it (cells.csv `design`)."""
        return self.name

    # --- start -------------------------------------------------------------------------------
    def server_options(self, spec: ResolvedServer, dialect: Dialect, lab_name: str) -> list[str]:
        """Options before the lab's own (a defaults file must come first) and after them."""
        return []

    def files(self, spec: ResolvedServer, dialect: Dialect) -> dict[str, str]:
        """Files put into the container's /lab before it starts: name -> content."""
        return {}

    def start_waves(self) -> list[list[str]]:
        """The servers in the order they start: all at once, unless a design needs some answering first."""
        return [list(self.topology.servers)]

    def admitted(self, ready: dict[str, Server], members: int) -> bool:
        """After a wave started: wait until the servers that answer count `members` in their group, and say so
        (True: the next wave may start before this one answers). False: wait until this wave answers."""
        return False

    def form(self, lab: Lab, pool: ThreadPoolExecutor) -> None:
        """Once every server answers: make them replicate."""

    # --- running -----------------------------------------------------------------------------
    def catch_up(self, lab: Lab, timeout: float) -> CatchUpResult:
        raise NotImplementedError

    def reset(self, lab: Lab, pool: ThreadPoolExecutor, apply_format: Callable[[Server], None]) -> None:
        """Drop every user schema and recreate the lab's, so the next cell starts clean; `apply_format` sets the
        cell's binlog format on a server at the point where the design's appliers will pick it up."""
        raise NotImplementedError

    def restore_quorum(self, lab: Lab) -> str | None:
        """While a restarted member waits to join: if the members left lost quorum, make one primary again.
        Returns the member that was made primary, if any (nothing to do for most designs)."""
        return None

    def rejoin(self, lab: Lab, server: Server) -> dict[str, Any]:
        """After a fault restarted, froze or cut off `server`: what it needs to be a member again."""
        return {}

    def members(self, lab: Lab) -> list[dict[str, Any]]:
        """Rows for `lab status`: each member's state as it reports it."""
        return []

    def sample(self, lab: Lab) -> list[dict[str, Any]]:
        """Rows for the time series, read with short timeouts (a paused server is a state, not an error)."""
        return []

    def certification_errnos(self, lab: Lab) -> frozenset[int]:
        """Errors of a write that certification rolled back; nothing for a design that does not certify."""
        return frozenset()

    def report(self, server: Server) -> MemberReport:
        """One member's state and progress (designs with members)."""
        raise NotImplementedError

    def members_settled(self, lab: Lab, timeout: float, in_sync: Callable[[MemberReport], bool]) -> CatchUpResult:
        """Every member in sync, nothing queued, the same progress everywhere (GTID set, seqno), twice in a row;
        a member that cannot get there by itself ends the wait at once."""
        started, previous = time.monotonic(), None
        while True:
            reports = [self.report(server) for server in lab.servers.values()]
            progress = {r.progress for r in reports}
            settled = all(in_sync(r) and not r.detail.get("queued") for r in reports) and len(progress) == 1
            for r in reports:
                r.caught_up = settled
            elapsed = time.monotonic() - started
            links = [r.as_link_report(self.name) for r in reports]
            if settled:
                if previous == progress:
                    return CatchUpResult(True, elapsed, links)
                previous = progress
                continue
            previous = None
            if any(r.broken for r in reports) or elapsed > timeout:
                return CatchUpResult(False, elapsed, links)
            time.sleep(0.05)


def drop_user_schemas(server: Server, replicated: bool) -> None:
    """Drop every user schema and create the lab's. `replicated`: through the design (the statements go to every
    member), else with the binary log off (this server only)."""
    with server.connect(database=None) as connection, connection.cursor() as cursor:
        if not replicated:
            cursor.execute("SET SESSION sql_log_bin=0")
        cursor.execute("SELECT schema_name AS name FROM information_schema.schemata")
        for row in cursor.fetchall():
            if row["name"].lower() not in SYSTEM_SCHEMAS:
                cursor.execute(f"DROP DATABASE `{row['name']}`")
        cursor.execute(f"CREATE DATABASE `{SCHEMA}`")


def wait_until(check: Callable[[], tuple[bool, str]], timeout: float, poll: float = 0.1) -> tuple[bool, str, float]:
    """Poll `check` (done, detail) until done or timeout; (done, last detail, seconds)."""
    started = time.monotonic()
    while True:
        done, detail = check()
        elapsed = time.monotonic() - started
        if done or elapsed > timeout:
            return done, detail, elapsed
        time.sleep(poll)


def quick_query(server: Server, sql: str) -> list[dict[str, Any]] | None:
    """Rows, or None when the server does not answer within a few seconds."""
    try:
        with server.connect(database=None, **QUICK) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())
    except Exception:  # paused, crashed, partitioned: the caller records "unreachable"
        return None
