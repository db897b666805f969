"""MySQL Group Replication (`replication: group`): every member certifies each transaction against the group's.

Multi-primary: every member takes writes; a transaction that conflicts with one certified first is
rolled back at commit. Single-primary: one member takes writes, the others are read-only. Members
start with `start_on_boot` off: the lab bootstraps the group, joins the others, and after a fault
restarted or expelled a member, starts Group Replication on it again (it then recovers from a donor).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from lab.db.designs.base import Design, MemberReport, drop_user_schemas, quick_query, wait_until
from lab.db.dialects import Dialect, GroupSettings
from lab.db.replication import CatchUpResult
from lab.db.server import Server
from lab.db.topology import ResolvedServer
from lab.errors import ReplicationError

if TYPE_CHECKING:
    from lab.db.lab import Lab

GROUP_PORT = 33061
FORM_TIMEOUT_S = 90.0
SELF_REJOIN_S = 15.0    # how long a member cut off may take to come back by itself before the lab restarts GR
BROKEN = ("ERROR", "OFFLINE")   # states a member does not leave by itself


class Group(Design):
    name = "group"
    certifying = True

    @property
    def label(self) -> str:
        return "group single-primary" if self.single_primary else "group multi-primary"

    @property
    def single_primary(self) -> bool:
        return bool(self.topology.group and self.topology.group.mode == "single-primary")

    @property
    def bootstrap_member(self) -> str:
        chosen = self.topology.group.primary if self.topology.group else None
        return chosen or next(iter(self.topology.servers))

    def settings(self, spec: ResolvedServer, lab_name: str) -> GroupSettings:
        checks = bool(self.topology.group and self.topology.group.enforce_update_everywhere_checks)
        return GroupSettings(
            group_name=str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{lab_name}.group.mysqllab")),
            local_address=f"{spec.name}:{GROUP_PORT}",
            seeds=tuple(f"{name}:{GROUP_PORT}" for name in self.topology.servers),
            single_primary=self.single_primary,
            enforce_update_everywhere_checks=checks and not self.single_primary,
        )

    def server_options(self, spec: ResolvedServer, dialect: Dialect, lab_name: str) -> list[str]:
        return dialect.group_options(self.settings(spec, lab_name))

    # --- forming ------------------------------------------------------------------------------
    def form(self, lab: Lab, pool: ThreadPoolExecutor) -> None:
        credentials = lab.credentials

        def prepare(server: Server) -> None:
            statements = server.dialect.group_recovery_statements(credentials.replication_user,
                                                                  credentials.replication_password)
            server.execute("SET SESSION sql_log_bin=0", *statements)

        list(pool.map(prepare, lab.servers.values()))
        self.start_group(lab, pool)

    def start_group(self, lab: Lab, pool: ThreadPoolExecutor) -> None:
        first = lab.servers[self.bootstrap_member]
        first.execute(*first.dialect.group_start(bootstrap=True))
        others = [s for name, s in lab.servers.items() if name != first.name]
        list(pool.map(lambda s: s.execute(*s.dialect.group_start(bootstrap=False)), others))
        done, detail, _ = wait_until(lambda: self._all_online(lab), FORM_TIMEOUT_S)
        if not done:
            raise ReplicationError(f"group of lab {lab.name} did not form in {FORM_TIMEOUT_S:.0f}s: {detail}")

    def _all_online(self, lab: Lab) -> tuple[bool, str]:
        states = {name: self.own_state(server) for name, server in lab.servers.items()}
        return all(state == "ONLINE" for state in states.values()), ", ".join(f"{n} {s}" for n, s in states.items())

    # --- state ------------------------------------------------------------------------------------
    def view(self, server: Server) -> list[dict[str, Any]] | None:
        return quick_query(server, server.dialect.group_members())

    def own_state(self, server: Server) -> str:
        rows = self.view(server)
        if rows is None:
            return "unreachable"
        own = [row for row in rows if int(row.get("self") or 0)]
        return str(own[0]["state"]) if own else "OFFLINE"

    def report(self, server: Server) -> MemberReport:
        state = self.own_state(server)
        report = MemberReport(server.name, state, broken=state in BROKEN)
        if state == "unreachable":
            return report
        rows = quick_query(server, "SELECT @@global.gtid_executed AS g")
        queued = quick_query(server, server.dialect.group_queue())
        if rows is None or queued is None:
            return MemberReport(server.name, "unreachable")
        report.progress = str(rows[0]["g"]).replace("\n", "")
        report.detail["queued"] = int(queued[0]["queued"] or 0) if queued else 0
        return report

    def catch_up(self, lab: Lab, timeout: float) -> CatchUpResult:
        """Every member ONLINE, nothing queued, and the same executed GTID set everywhere, twice in a row."""
        return self.members_settled(lab, timeout, lambda r: r.state == "ONLINE")

    # --- cells and faults -----------------------------------------------------------------------------
    def reset(self, lab: Lab, pool: ThreadPoolExecutor, apply_format: Callable[[Server], None]) -> None:
        """Through the group when it is whole and in sync (one DROP and CREATE that every member applies); else
        the group is formed again from empty members."""
        if self.catch_up(lab, timeout=10.0).caught_up:
            drop_user_schemas(lab.servers[self.bootstrap_member], replicated=True)
        else:
            def empty(server: Server) -> None:
                with contextlib.suppress(Exception):   # not running, or just restarted: nothing to stop
                    server.execute(server.dialect.group_stop())
                drop_user_schemas(server, replicated=False)
                server.execute(*server.dialect.reset_binary_logs())
                spec = self.topology.servers[server.name]   # the format it started with: a group starts under it
                server.execute(f"SET GLOBAL binlog_format={spec.binlog_format}")

            list(pool.map(empty, lab.servers.values()))
            self.start_group(lab, pool)
        list(pool.map(apply_format, lab.servers.values()))

    def in_group(self, lab: Lab, server: Server) -> bool:
        """ONLINE in its own view and in the view of every other member that is ONLINE itself: a member cut off
        from the others can still see itself ONLINE after the majority expelled it."""
        if self.own_state(server) != "ONLINE":
            return False
        for other in lab.servers.values():
            view = self.view(other) if other is not server else None
            own = next((row for row in view or [] if int(row.get("self") or 0)), None)
            if own and own["state"] == "ONLINE" and not any(
                    str(row["host"]) == server.name and row["state"] == "ONLINE" for row in view or []):
                return False
        return True

    def rejoin(self, lab: Lab, server: Server) -> dict[str, Any]:
        """Make `server` a member again after a fault: first give it a moment to come back by itself (a
        healed partition merges, auto-rejoin runs); else restart Group Replication on it, joining the others if
        any member is ONLINE, else bootstrapping the group on it. Waits until the group counts it ONLINE."""
        before = self.own_state(server)
        by_itself, _, waited = wait_until(lambda: (self.in_group(lab, server), ""), SELF_REJOIN_S, poll=0.5)
        if by_itself:
            return {"member_state_before": before, "rejoined_by_itself": True, "rejoin_s": round(waited, 3)}
        with contextlib.suppress(Exception):   # already stopped
            server.execute(server.dialect.group_stop())
        others_online = any(self.own_state(s) == "ONLINE" for s in lab.servers.values() if s is not server)
        server.execute(*server.dialect.group_start(bootstrap=not others_online))
        done, _, seconds = wait_until(lambda: (self.in_group(lab, server), ""), FORM_TIMEOUT_S, poll=0.2)
        if not done:
            raise ReplicationError(f"{server.name} did not rejoin the group in {FORM_TIMEOUT_S:.0f}s "
                                   f"({self.own_state(server)})")
        return {"member_state_before": before, "rejoined_by_itself": False, "bootstrapped": not others_online,
                "rejoin_s": round(waited + seconds, 3)}

    def members(self, lab: Lab) -> list[dict[str, Any]]:
        rows = []
        for name, server in lab.servers.items():
            view = self.view(server)
            if view is None:
                rows.append({"server": name, "member_state": "unreachable", "role": "", "sees": ""})
                continue
            own = next((row for row in view if int(row.get("self") or 0)), None)
            sees = ", ".join(f"{row['host']} {row['state']}" for row in view)
            rows.append({"server": name, "member_state": own["state"] if own else "OFFLINE",
                         "role": own["role"] if own else "", "sees": sees})
        return rows

    def sample(self, lab: Lab) -> list[dict[str, Any]]:
        rows = []
        for name, server in lab.servers.items():
            view = self.view(server)
            own = next((row for row in view if int(row.get("self") or 0)), None) if view is not None else None
            rows.append({"member": name,
                         "member_state": "unreachable" if view is None else (own["state"] if own else "OFFLINE"),
                         "member_role": own["role"] if own else "",
                         "members_online": sum(row["state"] == "ONLINE" for row in view) if view else 0})
        return rows

    def certification_errnos(self, lab: Lab) -> frozenset[int]:
        return frozenset().union(*(s.dialect.certification_errnos() for s in lab.servers.values()))
