"""Which replication threads a replica runs, and starting exactly those again after a change or a restart.

Faults that must stop a replica (re-pointing, changing the delay, restarting the server)
restore the thread states they found, so a thread another fault stopped stays stopped.
"""

from __future__ import annotations

from lab.db.dialects import LinkStatus
from lab.db.replication import await_receiver
from lab.db.server import Server


def running(status: LinkStatus) -> tuple[bool, bool]:
    """(receiver, applier) running. A receiver that is Connecting or Preparing is running: it will retry."""
    return status.io_running not in ("No", ""), status.sql_running == "Yes"


def start(server: Server, io_on: bool, sql_on: bool) -> None:
    """Start these threads, and return once a started receiver is connected or has failed to
    (`replication.await_receiver`): a heal that returned earlier left a link neither running nor stopped."""
    dialect = server.dialect
    if io_on and sql_on:
        server.execute(dialect.start_replica())
    elif io_on or sql_on:
        server.execute(dialect.start_replica("IO_THREAD" if io_on else "SQL_THREAD"))
    if io_on:
        await_receiver(server)
