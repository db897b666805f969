"""Which replication threads a replica runs, and starting exactly those again after a change or a restart.

Faults that must stop a replica (re-pointing, changing the delay, restarting the server)
restore the thread states they found, so a thread another fault stopped stays stopped.
"""

from __future__ import annotations

import time

from lab.db.dialects import LinkStatus
from lab.db.replication import link_status
from lab.db.server import Server

SETTLE_S = 5.0   # longest wait for a started receiver to connect


def running(status: LinkStatus) -> tuple[bool, bool]:
    """(receiver, applier) running. A receiver that is Connecting or Preparing is running: it will retry."""
    return status.io_running not in ("No", ""), status.sql_running == "Yes"


def start(server: Server, io_on: bool, sql_on: bool) -> None:
    """Start these threads, and return once a started receiver is connected (or has failed to connect).

    MariaDB's receiver goes from 'Connecting' through 'Preparing' to 'Yes' after START SLAVE; a heal
    that returned in between left callers reading a link that was neither running nor stopped
    (fresh-clone CI caught it twice). The wait is bounded: a receiver whose source is unreachable
    stays 'Connecting' until its connect attempt fails."""
    dialect = server.dialect
    if io_on and sql_on:
        server.execute(dialect.start_replica())
    elif io_on or sql_on:
        server.execute(dialect.start_replica("IO_THREAD" if io_on else "SQL_THREAD"))
    if io_on:
        deadline = time.monotonic() + SETTLE_S
        while (status := link_status(server)) is not None and status.io_running != "Yes" \
                and not status.last_io_errno and time.monotonic() < deadline:
            time.sleep(0.02)
