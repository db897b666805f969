"""What a cell records besides its own writes: catch-ups, link status at each check, replication errors.

Monitoring's view of the run. A replication error is counted the same way whatever the workload:
one entry per distinct (link, thread, errno), from catch-ups, check snapshots, samples, and the
faults' own records of errors that a heal cleared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from lab.checker import CheckResult, compare_table
from lab.db import status as link_status_rows
from lab.db.dialects import LinkStatus
from lab.db.lab import Lab
from lab.db.replication import CatchUpResult
from lab.db.server import Server
from lab.history import History

Compare = Callable[[Lab, str], CheckResult]


def compare_dcs(lab: Lab, table: str) -> CheckResult:
    """Compare a table on every DC's primary with the checker; `.rows` has one row per diverged key.
    Catch up first for a settled view."""
    endpoints = {dc: lab.server(name).endpoint for dc, name in lab.topology.dcs.items()}
    return compare_table(endpoints, table, snapshot=True)


class Evidence:
    """The lab, the history and what monitoring would have shown during one cell."""

    def __init__(self, lab: Lab, history: History, catch_up_timeout: float) -> None:
        self.lab, self.history, self.timeout = lab, history, catch_up_timeout
        self.snapshots: dict[str, Any] = {}        # check name -> every link's status then
        self.stopped_appliers: dict[str, int] = {}  # check name -> appliers not running then
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

    def note_cleared_errors(self, timeseries: pd.DataFrame | None) -> None:
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
        stopped = sum(1 for _link, status in statuses if status is None or status.sql_running != "Yes")
        self.stopped_appliers[check_name] = stopped
        return stopped
