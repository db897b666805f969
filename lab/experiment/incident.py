"""One cell of the incident experiment: seed, leader traffic, overlap, catch-up, checks, probes, fix.

The phases follow the 2019 incident: a single leader, then an active-active overlap in which
both DCs write the same rows, then a single leader again. Every outcome (rows affected,
divergence, lost updates, replication errors) is measured from the servers and the history.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lab import status as link_status_rows
from lab.analysis.lost_updates import lost_updates
from lab.cluster import Lab
from lab.errors import LabError
from lab.experiment.spec import Experiment, Scenario
from lab.history import History
from lab.replication import CatchUpResult
from lab.server import Server
from lab.workload.client import AppClient, VersionedTable
from lab.workload.clock import AppClock
from lab.workload.guards import guard as make_guard

CHECKS = ("after_overlap", "after_leader_write", "after_probe", "after_fix")
Compare = Callable[[Lab, str], pd.DataFrame]


@dataclass
class CellOutcome:
    """Everything a cell measured; `summary` is one row of cells.csv."""

    summary: dict[str, Any]
    divergence: pd.DataFrame
    snapshots: dict[str, Any] = field(default_factory=dict)


class IncidentCell:
    def __init__(self, lab: Lab, experiment: Experiment, parameters: dict[str, str], history: History,
                 compare: Compare, seed: int, catch_up_timeout: float = 60.0) -> None:
        self.lab, self.experiment, self.parameters = lab, experiment, parameters
        self.scenario: Scenario = experiment.scenario
        self.history, self.compare, self.seed = history, compare, seed
        self.table = VersionedTable(name=self.scenario.table)
        self.guard_name = parameters["guard"]
        self.timeout = catch_up_timeout
        self.checks: dict[str, pd.DataFrame] = {}
        self.snapshots: dict[str, Any] = {}
        self.replication_errors: set[str] = set()
        self.clients: list[AppClient] = []
        self.written_after_overlap: set[int] = set()
        self.story_end: tuple[list[dict], dict] = ([], {})

    # --- helpers ------------------------------------------------------------------------
    def client(self, dc: str, name: str, guard_name: str | None = None, clock: AppClock | None = None) -> AppClient:
        if any(existing.client_id == name for existing in self.clients):
            raise ValueError(f"client id {name!r} is already used in this cell; history records must be unambiguous")
        created = AppClient(dc=dc, server=self.lab.primary(dc), client_id=name,
                            guard=make_guard(guard_name or self.guard_name), history=self.history,
                            table=self.table, clock=clock)
        self.clients.append(created)
        return created

    def receiving_servers(self) -> list[Server]:
        return [self.lab.server(name) for name in dict.fromkeys(link.replica for link in self.lab.topology.links)]

    def catch_up(self, label: str) -> CatchUpResult:
        result = self.lab.catch_up(timeout=self.timeout)
        self.history.event("catch_up", label=label, caught_up=result.caught_up, seconds=round(result.seconds, 3),
                           errors=result.errors)
        self.replication_errors.update(result.errors)
        return result

    def check(self, name: str) -> pd.DataFrame:
        self.history.set_phase(f"check:{name}")
        rows = link_status_rows.link_rows(self.lab, full=True)
        self.snapshots[name] = rows
        for row in rows:
            if row["last_sql_errno"] or row["last_io_errno"]:
                self.replication_errors.add(f"{row['link']}: {row['last_error']}")
        diverged = self.compare(self.lab, self.table.name)
        self.history.event("check", name=name, diverged_keys=sorted(int(k) for k in diverged[self.table.key]))
        self.checks[name] = diverged
        if name == "after_leader_write":  # the application's story ends here; probes and fixes are the lab's
            self.story_end = (list(self.history.operations()), self.final_rows())
        return diverged

    def diverged_keys(self, name: str) -> set[int]:
        frame = self.checks.get(name)
        return set() if frame is None else {int(k) for k in frame[self.table.key]}

    # --- phases -------------------------------------------------------------------------
    def seed_rows(self) -> None:
        self.history.set_phase("seed")
        leader = self.lab.primary("dc1")
        leader.execute(self.table.create_sql())
        seeder = self.client("dc1", "seed")
        for key in self.scenario.conflict_rows + self.scenario.control_rows:
            seeder.insert(key, self.scenario.initial_value, self.scenario.initial_version)
        self.catch_up("seed")

    def single_leader(self) -> None:
        self.history.set_phase("single_leader")
        leader = self.client("dc1", "leader-dc1")
        for round_number in range(self.scenario.leader_updates):
            for key in self.scenario.control_rows:
                leader.read_modify_write(key, f"leader-{round_number}", version_step=1000)
        self.catch_up("single_leader")

    def overlap_versions(self) -> dict[str, int]:
        versions = {dc: write.version for dc, write in self.scenario.overlap.items()}
        if self.parameters["version_order"] == "dc2_newer":
            versions = {"dc1": versions["dc2"], "dc2": versions["dc1"]}
        return versions

    def overlap_deterministic(self) -> None:
        """Hold every applier, let both DCs write every conflict row from the same read, then release."""
        self.history.set_phase("overlap")
        held = self.receiving_servers()
        for server in held:
            server.execute(server.dialect.stop_replica("SQL_THREAD"))
        self.history.event("hold_appliers", servers=[s.name for s in held])
        versions = self.overlap_versions()
        writers = {dc: self.client(dc, f"app-{dc}") for dc in ("dc1", "dc2")}
        try:
            for key in self.scenario.conflict_rows:
                reads = {dc: writer.read(key) for dc, writer in writers.items()}
                for dc, writer in writers.items():
                    writer.update(key, self.scenario.overlap[dc].value, reads[dc].version, versions[dc])
        finally:
            for server in held:
                server.execute(server.dialect.start_replica("SQL_THREAD"))
            self.history.event("release_appliers", servers=[s.name for s in held])

    def overlap_concurrent(self) -> None:
        """Both DCs write the conflict rows at a fixed rate while replication runs; conflicts come from lag."""
        self.history.set_phase("overlap")
        settings = self.scenario.concurrent
        newer = "dc1" if self.parameters["version_order"] == "dc1_newer" else "dc2"
        stop_at = time.monotonic() + settings.seconds
        interval = settings.clients_per_dc / settings.rate_per_dc
        start_gate = threading.Barrier(2 * settings.clients_per_dc)

        def drive(dc: str, index: int) -> None:
            clock = AppClock(skew_ms=settings.clock_skew_ms if dc == newer else 0)
            writer = self.client(dc, f"app-{dc}-{index}", clock=clock)
            rng = random.Random(f"{self.seed}:{dc}:{index}")
            start_gate.wait()
            number, next_at = 0, time.monotonic()
            while time.monotonic() < stop_at:
                key = rng.choice(self.scenario.conflict_rows)
                writer.read_modify_write(key, f"{dc}-{index}-{number}")
                number += 1
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))

        jobs = [(dc, i) for dc in ("dc1", "dc2") for i in range(settings.clients_per_dc)]
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            list(pool.map(lambda job: drive(*job), jobs))

    def leader_writes(self) -> None:
        self.history.set_phase("leader_after")
        leader = self.client(self.scenario.leader_after, f"after-{self.scenario.leader_after}")
        for write in self.scenario.leader_writes:
            leader.read_modify_write(write.row, write.value, version_step=write.version_increment)
            self.written_after_overlap.add(write.row)
        self.catch_up("leader_after")

    def probe(self, rows: set[int], phase: str, guard_name: str, label: str) -> None:
        """One leader write per row, to establish by doing it whether the next write converges the row."""
        self.history.set_phase(phase)
        leader = self.client(self.scenario.leader_after, f"{label}-{self.scenario.leader_after}", guard_name)
        for key in sorted(rows):
            leader.read_modify_write(key, f"{label}-{key}", version_step=1000)
        self.catch_up(phase)

    def apply_fix(self) -> str:
        fix = self.experiment.fix
        assert fix is not None
        self.history.set_phase("fix")
        if fix.binlog_format:
            for server in self.lab.servers.values():
                server.execute(f"SET GLOBAL binlog_format={fix.binlog_format}")
            for server in self.receiving_servers():
                server.execute(server.dialect.stop_replica("SQL_THREAD"), server.dialect.start_replica("SQL_THREAD"))
        self.history.event("fix", guard=fix.guard, binlog_format=fix.binlog_format)
        return fix.guard or self.guard_name

    # --- final state ----------------------------------------------------------------------
    def final_rows(self) -> dict[str, dict[int, tuple[Any, int]]]:
        t = self.table
        result = {}
        for dc, name in self.lab.topology.dcs.items():
            rows = self.lab.server(name).query(f"SELECT {t.key} AS k, {t.value} AS v, {t.version} AS n FROM {t.name}")
            result[dc] = {int(r["k"]): (r["v"], int(r["n"])) for r in rows}
        return result

    def run(self, close_clients: bool = True) -> CellOutcome:
        """Run every phase. `close_clients=False` keeps client sessions open for inspection (tests)."""
        started = time.monotonic()
        try:
            self.seed_rows()
            self.single_leader()
            if self.parameters["mode"] == "deterministic":
                self.overlap_deterministic()
            else:
                self.overlap_concurrent()
            self.history.set_phase("quiesce")
            self.catch_up("quiesce")
            after_overlap = self.check("after_overlap")
            self.leader_writes()
            self.check("after_leader_write")
            untouched = self.diverged_keys("after_leader_write") - self.written_after_overlap
            self.probe(untouched, "probe", self.guard_name, "probe")
            self.check("after_probe")
            if self.experiment.fix:
                fixed_guard = self.apply_fix()
                self.probe(self.diverged_keys("after_probe"), "after_fix_traffic", fixed_guard, "fix")
                self.check("after_fix")
            final = self.final_rows()
        finally:
            if close_clients:
                for client in self.clients:
                    client.close()
        return self.outcome(after_overlap, untouched, final, time.monotonic() - started)

    def outcome(self, after_overlap: pd.DataFrame, untouched: set[int], final: dict, seconds: float) -> CellOutcome:
        operations = self.history.operations()
        lost = lost_updates(*self.story_end)
        lost_by_end = lost_updates(operations, final)
        overlap_ops = [op for op in operations if op["phase"] == "overlap" and op["kind"] == "update"]
        overlap_keys_by_dc: dict[str, set[int]] = {}
        for op in overlap_ops:
            if (op.get("rows_affected") or 0) > 0:
                overlap_keys_by_dc.setdefault(op["dc"], set()).add(op["key"])
        conflicting = set.intersection(*overlap_keys_by_dc.values()) if len(overlap_keys_by_dc) > 1 else set()
        diverged0 = self.diverged_keys("after_overlap")
        written_under_guard = (diverged0 & self.written_after_overlap) | untouched
        stuck = written_under_guard & self.diverged_keys("after_probe")
        summary: dict[str, Any] = {
            **self.parameters,
            "cell": self.history.cell,
            "status": "completed",
            "error": "",
            "overlap_updates": len(overlap_ops),
            "overlap_updates_applied": sum(1 for op in overlap_ops if (op.get("rows_affected") or 0) > 0),
            "conflicting_rows": len(conflicting),
            "diverged_after_overlap": len(diverged0),
            "diverged_after_leader_write": len(self.diverged_keys("after_leader_write")),
            "stuck_rows": len(stuck),
            "untouched_diverged": len(untouched),
            "diverged_after_fix": len(self.diverged_keys("after_fix")) if self.experiment.fix else None,
            "lost_updates": len(lost),
            "lost_updates_after_fix": len(lost_by_end) if self.experiment.fix else None,
            "replication_errors": len(self.replication_errors),
            "seconds": round(seconds, 2),
        }
        divergence = self.divergence_table(untouched, stuck, lost)
        self.snapshots["replication_errors"] = sorted(self.replication_errors)
        self.snapshots["lost_updates"] = lost
        return CellOutcome(summary, divergence, self.snapshots)

    def divergence_table(self, untouched: set[int], stuck: set[int], lost: list[dict]) -> pd.DataFrame:
        """One row per key that diverged at any check, with every DC's values at that check and a verdict."""
        frames = [frame.assign(check=name) for name, frame in self.checks.items() if not frame.empty]
        if not frames:
            return pd.DataFrame(columns=[self.table.key, "check", "kind", "dcs", "verdict"])
        table = pd.concat(frames, ignore_index=True)
        key = self.table.key
        last_before_fix = self.diverged_keys("after_probe")
        after_fix = self.diverged_keys("after_fix")

        def verdict(row_key: int) -> str:
            if row_key in stuck:
                state = "stuck under current guard/format"
            elif row_key in last_before_fix:
                state = "diverged"
            else:
                state = "converged after a leader write"
            if row_key in untouched:
                state += "; never written again by the app"
            if self.experiment.fix and row_key in last_before_fix:
                state += "; still diverged after fix" if row_key in after_fix else "; healed by fix"
            return state

        table["verdict"] = [verdict(int(k)) for k in table[key]]
        lost_keys = {op["key"] for op in lost}
        table["lost_update_on_key"] = [int(k) in lost_keys for k in table[key]]
        ordered = [key, "check", "kind", "dcs", "verdict", "lost_update_on_key"]
        return table[ordered + [c for c in table.columns if c not in ordered]]


def failed_outcome(parameters: dict[str, str], cell: str, error: BaseException) -> CellOutcome:
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    if not isinstance(error, LabError):
        message = f"{type(error).__name__}: {message}"
    summary = {**parameters, "cell": cell, "status": "failed", "error": message}
    return CellOutcome(summary, pd.DataFrame())
