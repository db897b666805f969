"""Asynchronous replication over links (`one-way`, `circular`): each replica applies its source's binlog when it
gets it. A link may be semi-synchronous: its source then waits, at commit, until the replica acknowledges
(or until the timeout, after which it carries on asynchronously)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from lab.db.designs.base import QUICK, Design, drop_user_schemas
from lab.db.dialects import Dialect, SemiSyncSettings
from lab.db.replication import CatchUpResult, catch_up, wire
from lab.db.server import Server
from lab.db.sql import query
from lab.db.topology import LinkSpec, ResolvedServer

if TYPE_CHECKING:
    from lab.db.lab import Lab

SEMI_SYNC_COLUMNS = ("source_status", "source_clients", "source_yes_tx", "source_no_tx", "source_tx_waits",
                     "replica_status")


class Asynchronous(Design):
    name = "asynchronous"

    @property
    def label(self) -> str:
        return "semi-sync" if self.semi_links() else "async"

    def semi_links(self) -> list[LinkSpec]:
        return [link for link in self.topology.links if link.semi_sync is not None]

    def server_options(self, spec: ResolvedServer, dialect: Dialect, lab_name: str) -> list[str]:
        semi = self.semi_links()
        as_source = next((link.semi_sync for link in semi if link.source == spec.name), None)
        as_replica = any(link.replica == spec.name for link in semi)
        if as_source is None and not as_replica:
            return []
        settings = SemiSyncSettings(as_source.wait_point, as_source.timeout_ms) if as_source else None
        return dialect.semi_sync_options(settings, as_replica)

    def form(self, lab: Lab, pool: ThreadPoolExecutor) -> None:
        def wire_one(link: LinkSpec) -> None:
            source, replica = lab.servers[link.source], lab.servers[link.replica]
            wire(source, replica, link, lab.credentials.replication_user, lab.credentials.replication_password,
                 use_gtid=self.topology.servers[link.replica].gtid)

        list(pool.map(wire_one, self.topology.links))

    def catch_up(self, lab: Lab, timeout: float) -> CatchUpResult:
        return catch_up(lab.links, timeout=timeout)

    def reset(self, lab: Lab, pool: ThreadPoolExecutor, apply_format: Callable[[Server], None]) -> None:
        """Replication stopped everywhere first, so nothing in flight leaks into the next cell; schemas dropped
        with the binlog off, binlogs and GTIDs reset, the format set, then the links wired again."""
        servers = list(lab.servers.values())

        def clean(server: Server) -> None:
            drop_user_schemas(server, replicated=False)
            server.execute(*server.dialect.reset_binary_logs())
            apply_format(server)

        list(pool.map(lambda s: s.execute(s.dialect.stop_replica(), s.dialect.reset_replica_all()), servers))
        list(pool.map(clean, servers))
        self.form(lab, pool)

    def members(self, lab: Lab) -> list[dict[str, Any]]:
        """Semi-sync status of every server on a semi-synchronous link (nothing for plain links)."""
        names = dict.fromkeys(n for link in self.semi_links() for n in (link.source, link.replica))
        rows = []
        for name in names:
            server = lab.servers[name]
            status = server.dialect.semi_sync_status(lambda sql, args, s=server: s.query(sql, args))
            rows.append({"server": name, **{f"semi_sync_{k}": status.get(k, "") for k in SEMI_SYNC_COLUMNS}})
        return rows

    def sample(self, lab: Lab) -> list[dict[str, Any]]:
        """One row per link: its receiver and applier, lag and last errors (and the source's semi-sync state)."""
        semi = {link.source for link in self.semi_links()}
        states = []
        for link in self.topology.links:
            replica = lab.servers[link.replica]
            row: dict[str, Any] = {"link": f"{link.source}->{link.replica}"}
            try:
                with replica.connect(**QUICK) as connection:
                    found = query(connection, replica.dialect.replica_status())
                status = replica.dialect.parse_link_status(found[0]) if found else None
                if status is None:
                    row.update(io="none", sql="none")
                else:
                    row.update(io=status.io_running, sql=status.sql_running, lag_s=status.seconds_behind,
                               last_sql_errno=status.last_sql_errno, last_io_errno=status.last_io_errno,
                               last_sql_error=status.last_sql_error[:300], last_io_error=status.last_io_error[:300])
                if link.source in semi:
                    source = lab.servers[link.source]
                    with source.connect(**QUICK) as connection:
                        semi_status = source.dialect.semi_sync_status(lambda sql, args, c=connection: query(c, sql,
                                                                                                              args))
                    row.update(semi_sync=semi_status.get("source_status", ""),
                               semi_sync_yes_tx=semi_status.get("source_yes_tx", ""),
                               semi_sync_no_tx=semi_status.get("source_no_tx", ""))
            except Exception:  # a paused, crashed or partitioned server is a state, not a failure
                row.update(io="unreachable", sql="unreachable")
            states.append(row)
        return states
