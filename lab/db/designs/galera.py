"""MariaDB Galera (`replication: galera`): every node certifies each write set; the first to certify wins.

The cluster address lives in an option file (`--defaults-extra-file`, the first option): the first node
starts with `gcomm://`, which bootstraps a new cluster, and once every node has joined the lab rewrites
it to name all nodes. A node that a fault restarts then joins the running cluster instead of founding a
second one. A joining node copies the data from a donor (state transfer, `sst_method`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pymysql

from lab.db.designs.base import Design, MemberReport, drop_user_schemas, quick_query, wait_until
from lab.db.dialects import Dialect, GaleraSettings
from lab.db.replication import CatchUpResult
from lab.db.server import Server, lab_archive
from lab.db.topology import ResolvedServer
from lab.errors import ReplicationError

if TYPE_CHECKING:
    from lab.db.lab import Lab

ADDRESS_FILE = "galera.cnf"        # in the container's /lab
FORM_TIMEOUT_S = 120.0
ADMIT_TIMEOUT_S = 30.0             # a joiner not in the founder's view by then is waited for as it answers
STATUS = ("wsrep_cluster_status", "wsrep_local_state_comment", "wsrep_cluster_size", "wsrep_ready",
          "wsrep_last_committed", "wsrep_local_recv_queue", "wsrep_local_cert_failures", "wsrep_local_bf_aborts")


class Galera(Design):
    name = "galera"
    certifying = True

    @property
    def founder(self) -> str:
        return next(iter(self.topology.servers))

    def server_options(self, spec: ResolvedServer, dialect: Dialect, lab_name: str) -> list[str]:
        method = self.topology.galera.sst_method if self.topology.galera else "rsync"
        return dialect.galera_options(GaleraSettings(lab_name, spec.name, method, f"/lab/{ADDRESS_FILE}"))

    def files(self, spec: ResolvedServer, dialect: Dialect) -> dict[str, str]:
        nodes = [] if spec.name == self.founder else list(self.topology.servers)
        return {ADDRESS_FILE: dialect.galera_address_file(nodes)}

    def start_waves(self) -> list[list[str]]:
        """One node at a time, the founder first. A joiner that starts before a primary component exists forms a
        non-primary one of its own, and two joiners starting together delay each other's view: merging took
        about 5 s here. A joiner is let in as soon as the founder counts it (`admitted`), so its state transfer
        overlaps the next joiner's start."""
        return [[self.founder]] + [[name] for name in self.topology.servers if name != self.founder]

    def admitted(self, ready: dict[str, Server], members: int) -> bool:
        """The founder's primary component holds `members` nodes (joiners still receiving their state count)."""
        founder = ready.get(self.founder)
        if founder is None:
            return False
        done, _, _ = wait_until(lambda: (int((self.status(founder) or {}).get("wsrep_cluster_size") or 0) >= members,
                                         ""), ADMIT_TIMEOUT_S, poll=0.05)
        return done

    def form(self, lab: Lab, pool: ThreadPoolExecutor) -> None:
        done, detail, _ = wait_until(lambda: self._formed(lab), FORM_TIMEOUT_S, poll=0.2)
        if not done:
            raise ReplicationError(f"galera cluster of lab {lab.name} did not form in {FORM_TIMEOUT_S:.0f}s: "
                                   f"{detail}")
        founder = lab.servers[self.founder]   # from now on a restart joins the cluster, never founds a new one
        content = founder.dialect.galera_address_file(list(self.topology.servers))
        founder.container.put_archive("/lab", lab_archive({ADDRESS_FILE: content}, uid=0, mode=0o644))

    def _formed(self, lab: Lab) -> tuple[bool, str]:
        states = {name: self.status(server) for name, server in lab.servers.items()}
        size = str(len(lab.servers))
        done = all(s and s.get("wsrep_local_state_comment") == "Synced" and s.get("wsrep_cluster_size") == size
                   for s in states.values())
        detail = ", ".join(f"{n} {(s or {}).get('wsrep_local_state_comment', 'unreachable')}" for n, s in
                           states.items())
        return done, detail

    # --- state ------------------------------------------------------------------------------------
    def status(self, server: Server) -> dict[str, str] | None:
        rows = quick_query(server, "SHOW GLOBAL STATUS LIKE 'wsrep_%'")
        return None if rows is None else {str(r["Variable_name"]).lower(): str(r["Value"]) for r in rows}

    def report(self, server: Server) -> MemberReport:
        status = self.status(server)
        if status is None:
            return MemberReport(server.name, "unreachable")
        state = status.get("wsrep_local_state_comment", "")
        primary = status.get("wsrep_cluster_status") == "Primary"
        report = MemberReport(server.name, state if primary else f"{state} (non-primary)",
                              progress=f"seqno {status.get('wsrep_last_committed', '?')}")
        report.detail = {"queued": int(status.get("wsrep_local_recv_queue") or 0), "synced": state == "Synced"
                         and primary and status.get("wsrep_ready") == "ON"}
        return report

    def catch_up(self, lab: Lab, timeout: float) -> CatchUpResult:
        """Every node Synced in the primary component, nothing queued, the same last committed seqno, twice."""
        return self.members_settled(lab, timeout, lambda r: bool(r.detail.get("synced")))

    # --- cells and faults -----------------------------------------------------------------------------
    def reset(self, lab: Lab, pool: ThreadPoolExecutor, apply_format: Callable[[Server], None]) -> None:
        """Every node rejoined, then one DROP and CREATE through the cluster (DDL is replicated to every node)."""
        for server in lab.servers.values():
            self.rejoin(lab, server)
        drop_user_schemas(lab.servers[self.founder], replicated=True)
        list(pool.map(apply_format, lab.servers.values()))

    def restore_quorum(self, lab: Lab) -> str | None:
        """If no node that answers is in a primary component (every node lost quorum, e.g. two of three crashed),
        make the one that committed most primary (pc.bootstrap). Returns the node bootstrapped, if any."""
        statuses = {name: self.status(s) for name, s in lab.servers.items()}
        if any(s and s.get("wsrep_cluster_status") == "Primary" for s in statuses.values()):
            return None
        # a node still joining (it restarted and waits for a primary component) cannot be made primary itself
        alive = {n: int(s.get("wsrep_last_committed") or -1) for n, s in statuses.items()
                 if s and s.get("wsrep_local_state_comment") in ("Initialized", "Synced")}
        for chosen in sorted(alive, key=lambda n: -alive[n]):
            try:
                lab.servers[chosen].execute(lab.servers[chosen].dialect.galera_bootstrap())
                return chosen
            except pymysql.err.MySQLError:   # its state changed meanwhile: try the next, or again later
                continue
        return None

    def rejoin(self, lab: Lab, server: Server) -> dict[str, Any]:
        """A restarted or reconnected node rejoins by itself; if no node is left in a primary component, the one
        that committed most is made primary first. Waits until `server` is Synced."""
        before = self.report(server)
        bootstrapped = None if before.detail.get("synced") else self.restore_quorum(lab)
        done, detail, seconds = wait_until(lambda: (bool(self.report(server).detail.get("synced")),
                                                    self.report(server).state), FORM_TIMEOUT_S, poll=0.2)
        if not done:
            raise ReplicationError(f"{server.name} did not rejoin the cluster in {FORM_TIMEOUT_S:.0f}s ({detail})")
        return {"member_state_before": before.state, "bootstrapped": bootstrapped, "rejoin_s": round(seconds, 3)}

    def members(self, lab: Lab) -> list[dict[str, Any]]:
        rows = []
        for name, server in lab.servers.items():
            status = self.status(server) or {}
            rows.append({"server": name, **{key.removeprefix("wsrep_"): status.get(key, "unreachable" if not status
                                                                                    else "") for key in STATUS}})
        return rows

    def sample(self, lab: Lab) -> list[dict[str, Any]]:
        rows = []
        for name, server in lab.servers.items():
            status = self.status(server)
            if status is None:
                rows.append({"member": name, "member_state": "unreachable"})
                continue
            rows.append({"member": name, "member_state": status.get("wsrep_local_state_comment", ""),
                         "cluster_status": status.get("wsrep_cluster_status", ""),
                         "cluster_size": int(status.get("wsrep_cluster_size") or 0),
                         "recv_queue": int(status.get("wsrep_local_recv_queue") or 0)})
        return rows

    def certification_errnos(self, lab: Lab) -> frozenset[int]:
        return frozenset().union(*(s.dialect.certification_errnos() for s in lab.servers.values()))
