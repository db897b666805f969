"""Server faults: crash (SIGKILL, crash recovery on heal), clean restart, pause (freeze every thread).

Servers run with --skip-replica-start, so healing a stopped server restarts replication on
its incoming link itself, restoring the thread states it had before the fault (a link that
another fault stopped stays stopped). Its replicas reconnect by themselves (retry count
86400, every second). The host port may change on start, so the lab's `Server.endpoint` is
updated in place; clients that connect through the `Server` object follow it.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pymysql
from docker.errors import APIError, NotFound

from lab.db import server as srv
from lab.db.server import Server
from lab.db.sql import query
from lab.errors import ServerStartError
from lab.faults import threads
from lab.faults.base import Fault, FaultError
from lab.faults.context import FaultContext
from lab.faults.params import PauseParams, RestartParams


def rejoin(ctx: FaultContext, server: Server) -> dict[str, Any]:
    """A group member or Galera node that was down or frozen: the design makes it a member again (links need
    nothing more than their restarted threads)."""
    return {"rejoin": ctx.lab.design.rejoin(ctx.lab, server)} if ctx.lab.design.certifying else {}


QUORUM_CHECK_S = 3.0   # how often a member waiting to join checks that the others still have quorum


class ServerFault(Fault):
    def __init__(self, ctx: FaultContext, server: str | Server) -> None:
        super().__init__(ctx)
        self.server = server if isinstance(server, Server) else ctx.server(server)

    def params(self) -> dict[str, Any]:
        return {"server": self.server.name}

    def status(self) -> str:
        try:
            self.server.container.reload()
        except NotFound:
            raise FaultError(f"container of {self.server.name} no longer exists") from None
        return str(self.server.container.status)


class _Down(ServerFault):
    """Take the server down on start, bring it back on heal (crash recovery or a clean start)."""

    ready_timeout: float = 120.0

    def __init__(self, ctx: FaultContext, server: str | Server) -> None:
        super().__init__(ctx, server)
        self.threads_before: tuple[bool, bool] | None = None  # (io, sql) running before the fault

    def _remember_threads(self) -> None:
        if not self.ctx.incoming_links(self.server):
            return
        try:  # short timeouts: a paused server would otherwise hold this for a minute
            with self.server.connect(timeout=3, read_timeout=3) as connection:
                rows = query(connection, self.server.dialect.replica_status())
        except pymysql.err.MySQLError:  # already unreachable: assume replication was meant to run
            rows = []
        status = self.server.dialect.parse_link_status(rows[0]) if rows else None
        self.threads_before = (True, True) if status is None else threads.running(status)

    def _stop(self) -> None:
        raise NotImplementedError

    def _start(self) -> dict[str, Any]:
        self._remember_threads()
        began = time.monotonic()
        self._stop()
        return {"down_s": round(time.monotonic() - began, 3), "threads_before": self.threads_before}

    def _heal(self) -> dict[str, Any]:
        state = self.status()
        if state == "paused":
            self.server.container.unpause()
        began = time.monotonic()
        if state not in ("running", "paused"):
            self.server.container.start()
        port = srv.published_port(self.server.container)
        if port != self.server.endpoint.port:
            self.server.endpoint = dataclasses.replace(self.server.endpoint, port=port)
        quorum = self._wait_ready()
        self.ctx.lab.reapply_runtime_settings(self.server)  # e.g. the cell's binlog_format, lost on restart
        ready = time.monotonic() - began
        if self.threads_before is not None:
            threads.start(self.server, *self.threads_before)
        return {"was": state, "ready_s": round(ready, 3), "port": port, "replication_started": self.threads_before,
                **({"quorum_restored_on": quorum} if quorum else {}), **rejoin(self.ctx, self.server)}

    def _wait_ready(self) -> str | None:
        """Until the server answers. A member of a certifying design may not answer until it joins, and it cannot
        join members that lost quorum meanwhile (two crashed in quick succession): every few seconds the design
        restores quorum if it must. Returns the member made primary, if any."""
        design, restored = self.ctx.lab.design, None
        if not design.certifying:
            srv.wait_ready(self.server.container, self.server.endpoint, timeout=self.ready_timeout)
            return None
        deadline = time.monotonic() + self.ready_timeout
        while True:
            try:
                srv.wait_ready(self.server.container, self.server.endpoint, timeout=QUORUM_CHECK_S)
                return restored
            except ServerStartError:
                self.server.container.reload()
                if time.monotonic() > deadline or self.server.container.status in ("exited", "dead"):
                    raise
                restored = design.restore_quorum(self.ctx.lab) or restored

    @classmethod
    def from_params(cls, ctx: FaultContext, params: Any) -> _Down:
        return cls(ctx, params.target)


class Crash(_Down):
    """SIGKILL the server's container: no shutdown, no flush; heal starts it and InnoDB recovers."""

    kind = "crash"

    def _stop(self) -> None:
        container = self.server.container
        try:
            container.kill(signal="SIGKILL")
        except APIError as exc:
            if "is not running" not in str(exc):
                raise
        container.wait(timeout=60)


class Restart(_Down):
    """A clean shutdown (SIGTERM, then SIGKILL after `timeout_s`); heal starts the server again."""

    kind = "restart"

    def __init__(self, ctx: FaultContext, server: str | Server, timeout_s: float = 60.0) -> None:
        super().__init__(ctx, server)
        self.timeout_s = timeout_s

    def _stop(self) -> None:
        self.server.container.stop(timeout=int(self.timeout_s))

    @classmethod
    def from_params(cls, ctx: FaultContext, params: RestartParams) -> Restart:
        return cls(ctx, params.target, params.timeout_s)


class Pause(ServerFault):
    """Freeze every thread of the server (cgroup freezer): connections stay open, nothing answers."""

    kind = "pause"

    def _start(self) -> dict[str, Any]:
        self.server.container.pause()
        return {}

    def _heal(self) -> dict[str, Any]:
        state = self.status()
        if state == "paused":
            self.server.container.unpause()
        return {"was": state, **rejoin(self.ctx, self.server)}

    @classmethod
    def from_params(cls, ctx: FaultContext, params: PauseParams) -> Pause:
        return cls(ctx, params.target)
