"""db: the servers of a lab. Topology files, images, containers, replication links, catch-up and teardown.

    topology     topology files: which servers, in which DC, with which binlog settings, linked how
    lab          `Lab`: start a topology in parallel, wire it, wait for catch-up, reset it between cells, remove it
    server       one server in a container: command line, start, readiness, connection
    replication  wiring, link status and the catch-up primitive every experiment relies on
    dialects/    every MySQL/MariaDB difference (SQL spelling, status columns, GTID progress)
    images/      server images: local, pulled, or built offline from Debian packages; seeded datadirs
    engine, labels, cleanup, state, credentials, sql, status
                 the Docker engine, labels that make cleanup reliable, per-lab state and passwords,
                 connections, and the status rows `lab status` shows
"""


from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lab.db.lab import Lab

__all__ = ["Lab"]


def __getattr__(name: str) -> Any:
    """`Lab` is imported when first asked for: the checker reads any servers through `lab.db.sql` and
    `lab.db.dialects`, and importing the package must not load the Docker client for it (about 20 MB
    and a quarter of a second)."""
    if name == "Lab":
        from lab.db.lab import Lab
        return Lab
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
