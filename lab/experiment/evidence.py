"""What every cell records besides its own traffic: catch-ups, link status at each check, replication errors.

Shared by every kind of cell, so a replication error is counted the same way whatever the workload.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pandas as pd

from lab import status as link_status_rows
from lab.cluster import Lab
from lab.experiment.sampler import Sampler
from lab.experiment.schedule import FaultSchedule
from lab.history import History
from lab.replication import CatchUpResult, LinkStatus
from lab.server import Server
from lab.workload.driver import TrafficDriver


class Evidence:
    """The lab, the history and what monitoring would have shown during one cell."""

    def __init__(self, lab: Lab, parameters: dict[str, str], history: History, seed: int,
                 catch_up_timeout: float) -> None:
        self.lab, self.parameters, self.history, self.seed = lab, parameters, history, seed
        self.timeout = catch_up_timeout
        self.snapshots: dict[str, Any] = {}
        self.replication_errors: set[str] = set()  # "link: SQL|IO errno", one entry per distinct error
        self._error_messages: dict[str, str] = {}  # first message seen for each

    def receiving_servers(self) -> list[Server]:
        return [self.lab.server(name) for name in dict.fromkeys(link.replica for link in self.lab.topology.links)]

    def note_error(self, link: str, thread: str, errno: int, message: str) -> None:
        """Record one replication error as monitoring would see it. An error is (link, thread, errno): the
        same error seen again, even with another retry count in its message, counts once."""
        if errno:
            key = f"{link.replace(' ', '')}: {thread} {errno}"
            self._error_messages.setdefault(key, " ".join(message.split()))
            self.replication_errors.add(key)

    def note_status(self, link: str, status: LinkStatus | None) -> None:
        if status is not None:
            self.note_error(link, "SQL", status.last_sql_errno, status.last_sql_error)
            self.note_error(link, "IO", status.last_io_errno, status.last_io_error)

    def note_traffic_errors(self, timeseries: pd.DataFrame | None) -> None:
        """Errors that a later heal cleared (CHANGE MASTER resets Last_SQL_Error): the faults' own records keep
        what they cleared, and the samples keep what they saw between checks."""
        for record in self.history.records:
            if record.get("type") == "fault" and record.get("cleared_sql_errno"):
                link = str((record.get("params") or {}).get("link", "?"))
                self.note_error(link, "SQL", int(record["cleared_sql_errno"]), str(record.get("cleared_sql_error", "")))
        for row in timeseries.to_dict("records") if timeseries is not None and not timeseries.empty else []:
            for thread in ("sql", "io"):
                errno, message = row.get(f"last_{thread}_errno"), row.get(f"last_{thread}_error")
                if pd.isna(errno) or not errno:  # NaN: the server was unreachable when sampled
                    continue
                self.note_error(row["link"], thread.upper(), int(errno), "" if pd.isna(message) else str(message))

    def error_list(self) -> list[str]:
        return [f"{key}: {self._error_messages[key]}" for key in sorted(self.replication_errors)]

    def catch_up(self, label: str) -> CatchUpResult:
        result = self.lab.catch_up(timeout=self.timeout)
        self.history.event("catch_up", label=label, caught_up=result.caught_up, seconds=round(result.seconds, 3),
                           errors=result.errors)
        for link in result.links:
            self.note_status(link.name, link.status)
        return result

    def snapshot_links(self, check_name: str) -> int:
        """Enter the check's phase and keep every link's status; return how many appliers are not running."""
        self.history.set_phase(f"check:{check_name}")
        statuses = self.lab.link_statuses()
        self.snapshots[check_name] = link_status_rows.link_rows(self.lab, full=True, statuses=statuses)
        for link, status in statuses:
            self.note_status(f"{link.source}->{link.replica}", status)
        return sum(1 for _link, status in statuses if status is None or status.sql_running != "Yes")

    def hold_appliers(self) -> list[Server]:
        """Stop the SQL applier on every replica: both DCs then write without seeing each other (the forced overlap)."""
        held = self.receiving_servers()
        for server in held:
            server.execute(server.dialect.stop_replica("SQL_THREAD"))
        self.history.event("hold_appliers", servers=[s.name for s in held])
        return held

    def release_appliers(self, held: list[Server]) -> None:
        for server in held:
            server.execute(server.dialect.start_replica("SQL_THREAD"))
        self.history.event("release_appliers", servers=[s.name for s in held])

    def drive(self, driver: TrafficDriver, schedule: FaultSchedule, sampler: Sampler, duration: float,
              after_traffic: Callable[[], None] = lambda: None) -> pd.DataFrame:
        """Run the traffic (the caller has entered its phase) with the fault timeline and the sampler, then
        quiesce; return the samples.

        `after_traffic` runs as soon as the clients stop, even on error (e.g. release held appliers), and
        before the catch-up, which the sampler still watches.
        """
        t0 = time.monotonic()
        sampler.start(t0)
        try:
            try:
                driver.start()
                schedule.run(t0, until=t0 + duration, stop=driver.stop)
                driver.join(timeout=duration + 120)
            finally:
                driver.halt()
                after_traffic()
            self.history.set_phase("quiesce")
            self.catch_up("quiesce")
        finally:
            timeseries = sampler.stop()
        return timeseries

    @staticmethod
    def operation_errors(operations: list[dict[str, Any]]) -> dict[str, Any]:
        """Application statements that failed (deadlock, lost connection, duplicate key...), by error code."""
        errors = Counter(str(op["error"]).split(":")[0] for op in operations if op.get("error"))
        return {"operation_errors": sum(errors.values()), "operation_errors_by_code": dict(errors)}
