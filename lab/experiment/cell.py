"""What every experiment cell shares: its clients, catch-up, divergence checks, probes, fixes and verdicts.

A cell subclass only adds its own traffic phases (the incident's forced overlap, or a timeline of
traffic and faults). Verdicts are computed here from the servers and the history, the same way for all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lab.analysis.lost_updates import lost_updates
from lab.checker import CheckResult, compare_checks
from lab.checker.report import summary as fix_summary
from lab.cluster import Lab
from lab.errors import LabError
from lab.experiment.evidence import Evidence
from lab.experiment.spec import Fix
from lab.history import History
from lab.workload.client import AppClient, VersionedTable
from lab.workload.clock import AppClock
from lab.workload.guards import guard as make_guard

FIX_COLUMNS = ("healed_by_fix", "still_diverged_by_fix", "newly_diverged_by_fix")
Compare = Callable[[Lab, str], CheckResult]


@dataclass
class CellOutcome:
    """Everything a cell measured; `summary` is one row of cells.csv."""

    summary: dict[str, Any]
    divergence: pd.DataFrame
    snapshots: dict[str, Any] = field(default_factory=dict)
    timeseries: pd.DataFrame | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)   # more per-cell files: name -> frame (.csv)


class Cell(Evidence):
    """Base of a versioned-table cell: owns the clients and the checks, probes and fixes of one run on one lab."""

    def __init__(self, lab: Lab, parameters: dict[str, str], history: History, compare: Compare, seed: int, *,
                 table: VersionedTable, leader_dc: str = "dc1", fix: Fix | None = None,
                 catch_up_timeout: float = 60.0) -> None:
        super().__init__(lab, parameters, history, seed, catch_up_timeout)
        self.compare, self.table = compare, table
        self.guard_name = parameters["guard"]
        self.leader_dc, self.fix = leader_dc, fix
        self.checks: dict[str, pd.DataFrame] = {}          # check name -> one row per diverged key
        self.check_results: dict[str, CheckResult] = {}
        self.clients: list[AppClient] = []
        self.story_end: tuple[list[dict], dict] = ([], {})

    # --- clients --------------------------------------------------------------------------
    def client(self, dc: str, name: str, guard_name: str | None = None, clock: AppClock | None = None) -> AppClient:
        if any(existing.client_id == name for existing in self.clients):
            raise ValueError(f"client id {name!r} is already used in this cell; history records must be unambiguous")
        created = AppClient(dc=dc, server=self.lab.primary(dc), client_id=name,
                            guard=make_guard(guard_name or self.guard_name), history=self.history,
                            table=self.table, clock=clock)
        self.clients.append(created)
        return created

    def close_clients(self) -> None:
        for client in self.clients:
            client.close()

    # --- evidence -------------------------------------------------------------------------
    def check(self, name: str, story_ends: bool = False) -> pd.DataFrame:
        """Snapshot link status and compare every DC. `story_ends`: later writes are the lab's, not the app's."""
        self.snapshot_links(name)
        result = self.compare(self.lab, self.table.name)
        diverged = result.rows
        self.history.event("check", name=name, diverged_keys=sorted(int(k) for k in diverged[self.table.key]),
                           read_at=result.read_at)
        self.checks[name] = diverged
        self.check_results[name] = result
        if story_ends:
            self.story_end = (list(self.history.operations()), self.final_rows())
        return diverged

    def diverged_keys(self, name: str) -> set[int]:
        frame = self.checks.get(name)
        return set() if frame is None else {int(k) for k in frame[self.table.key]}

    def final_rows(self) -> dict[str, dict[int, tuple[Any, int]]]:
        t = self.table
        result = {}
        for dc, name in self.lab.topology.dcs.items():
            rows = self.lab.server(name).query(f"SELECT {t.key} AS k, {t.value} AS v, {t.version} AS n FROM {t.name}")
            result[dc] = {int(r["k"]): (r["v"], int(r["n"])) for r in rows}
        return result

    # --- lab writes: probes and fixes -------------------------------------------------------
    def probe(self, rows: set[int], phase: str, guard_name: str, label: str) -> None:
        """One leader write per row, to establish by doing it whether the next write converges the row."""
        self.history.set_phase(phase)
        leader = self.client(self.leader_dc, f"{label}-{self.leader_dc}", guard_name)
        for key in sorted(rows):
            leader.read_modify_write(key, f"{label}-{key}", version_step=1000)
        self.catch_up(phase)

    def apply_fix(self) -> str:
        """Switch binlog format and/or guard; return the guard later writes use."""
        if self.fix is None:
            raise LabError("this cell has no fix to apply")
        self.history.set_phase("fix")
        if self.fix.binlog_format:
            self.lab.set_global("binlog_format", self.fix.binlog_format)
            for server in self.receiving_servers():
                server.execute(server.dialect.stop_replica("SQL_THREAD"), server.dialect.start_replica("SQL_THREAD"))
        self.history.event("fix", guard=self.fix.guard, binlog_format=self.fix.binlog_format)
        return self.fix.guard or self.guard_name

    def probe_and_fix(self, first_check: str) -> set[int]:
        """Probe rows still diverged at `first_check` under the current guard; then apply the fix, if any.

        Returns the rows the probe wrote (their verdict is 'stuck' if they stay diverged).
        """
        probed = self.diverged_keys(first_check)
        self.probe(probed, "probe", self.guard_name, "probe")
        self.check("after_probe")
        if self.fix:
            fixed_guard = self.apply_fix()
            self.probe(self.diverged_keys("after_probe"), "after_fix_traffic", fixed_guard, "fix")
            self.check("after_fix")
        return probed

    # --- verdicts ---------------------------------------------------------------------------
    def verdicts(self, written_under_guard: set[int], untouched: set[int]) -> dict[str, Any]:
        """Counts every cell reports, computed from the checks and the history."""
        operations = self.history.operations()
        lost = lost_updates(*self.story_end) if self.story_end[1] else []
        lost_by_end = lost_updates(operations, self.final_rows())
        stuck = written_under_guard & self.diverged_keys("after_probe")
        self.snapshots["replication_errors"] = self.error_list()
        self.snapshots["lost_updates"] = lost
        self._stuck, self._untouched, self._lost = stuck, untouched, lost
        by_fix: dict[str, int | None] = dict.fromkeys(FIX_COLUMNS)
        if self.fix:
            counts = fix_summary(compare_checks(self.check_results["after_probe"], self.check_results["after_fix"]))
            by_fix = {f"{status}_by_fix": count for status, count in counts.items()}
        updates = [op for op in operations if op.get("kind") == "update" and not op.get("error")]
        return {
            # the app's "someone else changed it; reload" signal: a guarded write that matched no row
            "rejected_writes": sum(1 for op in updates if op.get("rows_affected") == 0),
            # successful writes that set a version older than the one they read (clock skew under gte/none)
            "version_regressions": sum(1 for op in updates if (op.get("rows_affected") or 0) > 0
                                       and op.get("read_version") is not None
                                       and int(op["new_version"]) < int(op["read_version"])),
            **by_fix,
            "stuck_rows": len(stuck),
            "untouched_diverged": len(untouched),
            "diverged_after_fix": len(self.diverged_keys("after_fix")) if self.fix else None,
            "lost_updates": len(lost),
            "lost_updates_after_fix": len(lost_by_end) if self.fix else None,
            "replication_errors": len(self.replication_errors),
        }

    def divergence_table(self) -> pd.DataFrame:
        """One row per key that diverged at any check, with every DC's values at that check and a verdict."""
        frames = [frame.assign(check=name) for name, frame in self.checks.items() if not frame.empty]
        key = self.table.key
        if not frames:
            return pd.DataFrame(columns=[key, "check", "kind", "dcs", "verdict", "lost_update_on_key"])
        table = pd.concat(frames, ignore_index=True)
        before_fix = self.diverged_keys("after_probe")
        after_fix = self.diverged_keys("after_fix")

        def verdict(row_key: int) -> str:
            if row_key in self._stuck:
                state = "stuck under current guard/format"
            elif row_key in before_fix:
                state = "diverged"
            else:
                state = "converged after a leader write"
            if row_key in self._untouched:
                state += "; never written again by the app"
            if self.fix and row_key in before_fix:
                state += "; still diverged after fix" if row_key in after_fix else "; healed by fix"
            return state

        table["verdict"] = [verdict(int(k)) for k in table[key]]
        lost_keys = {op["key"] for op in self._lost}
        table["lost_update_on_key"] = [int(k) in lost_keys for k in table[key]]
        ordered = [key, "check", "kind", "dcs", "verdict", "lost_update_on_key"]
        return table[ordered + [c for c in table.columns if c not in ordered]]


def failed_outcome(parameters: dict[str, str], cell: str, error: BaseException) -> CellOutcome:
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    if not isinstance(error, LabError):
        message = f"{type(error).__name__}: {message}"
    summary = {**parameters, "cell": cell, "status": "failed", "error": message}
    return CellOutcome(summary, pd.DataFrame())
