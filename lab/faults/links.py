"""Faults on replication links: stop a thread, hold every applier, delay the applier, switch exec mode, skip
a failing event.

Links are written `source->replica` (server or DC names). Each fault acts on the replica end
and restores exactly what it found, so it composes with the link's configured settings.
"""

from __future__ import annotations

import re
import time
from typing import Any

from lab.db.dialects import LinkStatus
from lab.db.replication import Link, link_status
from lab.db.sql import query
from lab.faults import threads
from lab.faults.base import Fault, FaultError
from lab.faults.context import FaultContext
from lab.faults.params import DelayParams, ExecModeParams, HoldAppliersParams, SkipEventParams, StopThreadParams

FAILED_GTID = re.compile(r"failed executing transaction '([^']+)'")


def _status(link: Link) -> LinkStatus:
    status = link_status(link.replica)
    if status is None:
        raise FaultError(f"{link.replica.name} has no replication configured")
    return status


class LinkFault(Fault):
    def __init__(self, ctx: FaultContext, link: str | Link) -> None:
        super().__init__(ctx)
        self.link = link if isinstance(link, Link) else ctx.link(link)

    @property
    def link_name(self) -> str:
        return f"{self.link.source.name}->{self.link.replica.name}"

    def params(self) -> dict[str, Any]:
        return {"link": self.link_name}


class StopThread(LinkFault):
    """STOP REPLICA IO_THREAD (the receiver: nothing new arrives) or SQL_THREAD (the applier: relay log piles up)."""

    kind = "stop_thread"

    def __init__(self, ctx: FaultContext, link: str | Link, thread: str) -> None:
        super().__init__(ctx, link)
        self.thread = thread.lower()

    @property
    def statement_thread(self) -> str:
        return "IO_THREAD" if self.thread == "io" else "SQL_THREAD"

    def params(self) -> dict[str, Any]:
        return {**super().params(), "thread": self.thread}

    def _start(self) -> dict[str, Any]:
        self.link.replica.execute(self.link.replica.dialect.stop_replica(self.statement_thread))
        return {}

    def _heal(self) -> dict[str, Any]:
        # START on a running thread is only a warning, so heal is idempotent.
        threads.start(self.link.replica, io_on=self.thread == "io", sql_on=self.thread == "sql")
        return {}

    @classmethod
    def from_params(cls, ctx: FaultContext, params: StopThreadParams) -> StopThread:
        return cls(ctx, params.link, str(params.thread))



class HoldAppliers(Fault):
    """Stop the applier (SQL thread) of every replica, or of the given links: the incident's forced overlap.

    While it holds, every DC keeps taking writes and receiving its sources' binlogs, but applies none
    of them, so each DC writes without seeing the others. Healing starts the appliers again, and
    they replay whatever the other DCs wrote meanwhile.
    """

    kind = "hold_appliers"

    def __init__(self, ctx: FaultContext, links: list[str] | None = None) -> None:
        super().__init__(ctx)
        if ctx.lab.design.certifying:
            raise ctx.error("type", f"a {ctx.lab.design.label} has no appliers to hold: its members certify "
                                    "each write", "force the overlap with transactions (incident mode "
                                                  "txn_dc2_first, txn_dc1_first or stale_read)")
        chosen = [ctx.link(text, "links") for text in links] if links else list(ctx.lab.links)
        self.links = chosen
        self.replicas = list({link.replica.name: link.replica for link in chosen}.values())

    def params(self) -> dict[str, Any]:
        return {"links": [f"{link.source.name}->{link.replica.name}" for link in self.links]}

    def _start(self) -> dict[str, Any]:
        for replica in self.replicas:
            replica.execute(replica.dialect.stop_replica("SQL_THREAD"))
        return {"servers": [replica.name for replica in self.replicas]}

    def _heal(self) -> dict[str, Any]:
        # START on a running applier is only a warning, so heal is idempotent.
        for replica in self.replicas:
            replica.execute(replica.dialect.start_replica("SQL_THREAD"))
        return {"servers": [replica.name for replica in self.replicas]}

    @classmethod
    def from_params(cls, ctx: FaultContext, params: HoldAppliersParams) -> HoldAppliers:
        return cls(ctx, params.links)


class ReplicationDelay(LinkFault):
    """SOURCE_DELAY / MASTER_DELAY: the applier holds each event this long after the source committed it.

    Both threads are stopped for the change (MariaDB refuses it with the receiver running,
    MySQL with the applier running) and restarted only if they were running.
    """

    kind = "delay"

    def __init__(self, ctx: FaultContext, link: str | Link, seconds: int) -> None:
        super().__init__(ctx, link)
        self.seconds = int(seconds)
        self.previous: int | None = None

    def params(self) -> dict[str, Any]:
        return {**super().params(), "seconds": self.seconds}

    def _set(self, seconds: int) -> dict[str, Any]:
        """Change the delay. CHANGE MASTER/REPLICATION SOURCE clears Last_SQL_Error, so an error the applier
        had stopped with is returned here, to be kept in the fault's history record."""
        status = _status(self.link)
        dialect = self.link.replica.dialect
        self.link.replica.execute(dialect.stop_replica(), dialect.set_delay(seconds))
        threads.start(self.link.replica, *threads.running(status))
        if not status.last_sql_errno:
            return {}
        return {"cleared_sql_errno": status.last_sql_errno, "cleared_sql_error": status.last_sql_error[:500]}

    def _start(self) -> dict[str, Any]:
        self.previous = _status(self.link).sql_delay
        return {"previous_seconds": self.previous, **self._set(self.seconds)}

    def _heal(self) -> dict[str, Any]:
        restore = self.previous or 0
        cleared = self._set(restore) if _status(self.link).sql_delay != restore else {}
        return {"restored_seconds": restore, **cleared}

    @classmethod
    def from_params(cls, ctx: FaultContext, params: DelayParams) -> ReplicationDelay:
        return cls(ctx, params.link, params.seconds)


class ExecMode(LinkFault):
    """replica_exec_mode / slave_exec_mode IDEMPOTENT: duplicate-key and missing-row errors are silently ignored.

    The variable is global to the replica; a running applier is restarted so it reads the new mode.
    """

    kind = "idempotent"

    def __init__(self, ctx: FaultContext, link: str | Link, mode: str = "IDEMPOTENT") -> None:
        super().__init__(ctx, link)
        self.mode = mode.upper()
        self.previous: str | None = None

    def params(self) -> dict[str, Any]:
        return {**super().params(), "mode": self.mode}

    def current(self) -> str:
        variable = self.link.replica.dialect.exec_mode_variable()
        return str(self.link.replica.query(f"SELECT @@global.{variable} AS m")[0]["m"]).upper()

    def _apply(self, mode: str) -> None:
        replica, dialect = self.link.replica, self.link.replica.dialect
        sql_on = _status(self.link).sql_running == "Yes"
        if sql_on:
            replica.execute(dialect.stop_replica("SQL_THREAD"))
        replica.execute(dialect.set_exec_mode(mode))
        if sql_on:
            replica.execute(dialect.start_replica("SQL_THREAD"))

    def _start(self) -> dict[str, Any]:
        self.previous = self.current()
        self._apply(self.mode)
        return {"previous_mode": self.previous}

    def _heal(self) -> dict[str, Any]:
        restore = self.previous or "STRICT"
        if self.current() != restore:
            self._apply(restore)
        return {"restored_mode": restore}

    @classmethod
    def from_params(cls, ctx: FaultContext, params: ExecModeParams) -> ExecMode:
        return cls(ctx, params.link, params.mode)


class SkipEvent(LinkFault):
    """Skip the transaction the applier failed on, then restart the applier. An action: heal has nothing to undo.

    MySQL with GTIDs commits an empty transaction under the failing GTID (the skip counter is
    refused there); MySQL without GTIDs and MariaDB use the skip counter. Up to `count`
    failures are skipped, waiting up to `wait_s` for each next failure to show.
    """

    kind = "skip_event"

    def __init__(self, ctx: FaultContext, link: str | Link, count: int = 1, wait_s: float = 2.0) -> None:
        super().__init__(ctx, link)
        self.count, self.wait_s = int(count), float(wait_s)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "count": self.count}

    def failing_gtid(self, status: LinkStatus) -> str | None:
        rows = self.link.replica.query(
            "SELECT APPLYING_TRANSACTION AS g FROM performance_schema.replication_applier_status_by_worker "
            "WHERE LAST_ERROR_NUMBER <> 0 ORDER BY LAST_ERROR_TIMESTAMP DESC")
        for row in rows:
            if row["g"] and row["g"] != "ANONYMOUS":
                return str(row["g"])
        match = FAILED_GTID.search(status.last_sql_error)
        return match.group(1) if match and match.group(1) != "ANONYMOUS" else None

    def _wait_for_failure(self, timeout: float) -> LinkStatus | None:
        deadline = time.monotonic() + timeout
        while True:
            status = _status(self.link)
            if status.sql_running != "Yes" and status.last_sql_errno:
                return status
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def skip_one(self, status: LinkStatus) -> dict[str, Any]:
        replica, dialect = self.link.replica, self.link.replica.dialect
        skipped: dict[str, Any] = {"errno": status.last_sql_errno, "error": status.last_sql_error[:300]}
        by_gtid = dialect.skips_with_empty_transaction(self.link.use_gtid)
        gtid = self.failing_gtid(status) if by_gtid else None
        if gtid:
            with replica.connect() as connection:
                query(connection, "SET GTID_NEXT=%s", (gtid,))
                query(connection, "BEGIN")
                query(connection, "COMMIT")
                query(connection, "SET GTID_NEXT='AUTOMATIC'")
            skipped["gtid"] = gtid
        elif by_gtid:
            raise FaultError(f"{replica.name}: cannot find the failing GTID in: {status.last_sql_error[:200]}")
        else:
            replica.execute(dialect.skip_counter(1))
            skipped["skip_counter"] = 1
        replica.execute(dialect.start_replica("SQL_THREAD"))
        return skipped

    def _start(self) -> dict[str, Any]:
        skipped = []
        for index in range(self.count):
            status = self._wait_for_failure(0 if index == 0 else self.wait_s)
            if status is None:
                break
            skipped.append(self.skip_one(status))
        return {"skipped": skipped}

    def _heal(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_params(cls, ctx: FaultContext, params: SkipEventParams) -> SkipEvent:
        return cls(ctx, params.link, params.count, params.wait_s)
