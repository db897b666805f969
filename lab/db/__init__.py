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

from lab.db.lab import Lab

__all__ = ["Lab"]
