"""One cell of a workload experiment: any workload, run the same way.

Phases: seed the workload's tables on the first DC; traffic from clients on every DC (or only the
first, in `single_dc` mode), while a sampler records divergence and link state, with every applier
held in `deterministic` mode, IDEMPOTENT appliers if the cell says so, and the experiment's faults on
their timeline; catch-up; a divergence check of every table; then the verdicts, all computed from the
servers and the history: the workload's invariants on the rows every DC holds, lost updates from the
writes' recorded intent, replication errors and stopped appliers. Workloads that can probe get one
more leader write per diverged row, to tell rows that the next write converges from stuck ones.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pandas as pd

from lab.analysis.field_updates import FinalRows, LostWrite, lost_writes
from lab.checker import CheckResult
from lab.cluster import Lab
from lab.experiment.cell import CellOutcome, Compare
from lab.experiment.evidence import Evidence
from lab.experiment.sampler import Sampler
from lab.experiment.schedule import FaultSchedule
from lab.experiment.spec import WorkloadExperiment
from lab.faults import ClockRegistry, FaultContext
from lab.faults.links import ExecMode
from lab.history import History
from lab.server import Server
from lab.workload.driver import TrafficDriver
from lab.workload.guards import guard as make_guard
from lab.workload.plan import PlannedOp
from lab.workloads.base import Slot, Snapshot, Violation, Workload
from lab.workloads.client import WorkloadClient, key_text

SHARE_WINDOW_S = 1.0


def read_table(server: Server, table: str) -> pd.DataFrame:
    """Every row of a table as one DC holds it, with its columns even when it is empty."""
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        columns = [d[0] for d in cursor.description or []]
        return pd.DataFrame(list(cursor.fetchall()), columns=columns, dtype=object)


def planned_shares(plans: dict[str, list[PlannedOp]], dcs: list[str]) -> Callable[[float], dict[str, float]]:
    """Each DC's share of the operations planned within a second of time t (the traffic share over time)."""
    planned = sorted((op.at, op.dc) for ops in plans.values() for op in ops)

    def shares(t: float) -> dict[str, float]:
        near = [dc for at, dc in planned if abs(at - t) <= SHARE_WINDOW_S]
        return {dc: (near.count(dc) / len(near) if near else 0.0) for dc in dcs}

    return shares


class WorkloadCell(Evidence):
    def __init__(self, lab: Lab, experiment: WorkloadExperiment, parameters: dict[str, str], history: History,
                 compare: Compare, seed: int, catch_up_timeout: float = 120.0, experiment_file: str = "") -> None:
        super().__init__(lab, parameters, history, seed, catch_up_timeout)
        self.experiment, self.compare = experiment, compare
        self.experiment_file = experiment_file or experiment.name
        self.workload: Workload = experiment.build(parameters)
        self.tables = self.workload.tables()
        self.dcs = list(lab.topology.dcs)
        self.clocks = ClockRegistry.with_skews(experiment.clock_skew_ms)  # shared with clock-skew faults
        self.clients: list[WorkloadClient] = []
        self.checks: dict[str, pd.DataFrame] = {}
        self.check_results: dict[str, dict[str, CheckResult]] = {}
        self.stopped_appliers: dict[str, int] = {}
        self.snapshot: Snapshot | None = None

    # --- clients ---------------------------------------------------------------------------
    def slots(self) -> list[Slot]:
        """The clients to start. Interleaved by DC, so a workload pairing neighbours pairs different DCs."""
        per_dc = self.experiment.traffic.clients_per_dc
        if self.parameters.get("mode") == "single_dc":
            first = self.dcs[0]
            return [Slot(first, f"{first}-c{i}") for i in range(per_dc * len(self.dcs))]
        return [Slot(dc, f"{dc}-c{i}") for i in range(per_dc) for dc in self.dcs]

    def make_client(self, dc: str, client_id: str) -> WorkloadClient:
        guard = make_guard(self.parameters["guard"]) if "guard" in self.parameters else None
        client = WorkloadClient(dc=dc, server=self.lab.primary(dc), client_id=client_id, history=self.history,
                                clock=self.clocks.clock(dc), guard=guard)
        client.dc_index, client.dc_count = self.dcs.index(dc), len(self.dcs)
        self.workload.prepare(client)
        self.clients.append(client)
        return client

    def close_clients(self) -> None:
        for client in self.clients:
            client.close()

    # --- phases ----------------------------------------------------------------------------
    def seed_tables(self) -> None:
        self.history.set_phase("seed")
        source = self.lab.primary(self.dcs[0])
        rows = 0
        with source.connect() as connection, connection.cursor() as cursor:
            for table in self.tables:
                cursor.execute(table.create)
            for statement, batch in self.workload.seed_statements():
                if batch:
                    cursor.executemany(statement, batch)
                    rows += len(batch)
        self.history.event("seed", dc=self.dcs[0], tables=[t.name for t in self.tables], rows=rows)
        self.catch_up("seed")

    def traffic(self, context: FaultContext, schedule: FaultSchedule) -> pd.DataFrame:
        """Run the workload's plan with the cell's mode, exec mode and faults; return the sampled time series."""
        duration = self.experiment.traffic.duration
        plans = self.workload.plan(self.slots(), duration, self.seed)
        if self.parameters.get("exec_mode") == "IDEMPOTENT":
            for link in self.lab.links:
                schedule.fault_set.start(ExecMode(context, link, "IDEMPOTENT"))
        sampler = Sampler(self.lab, self._count_diverged, interval=self.experiment.sample_interval,
                          shares=planned_shares(plans, self.dcs), active_faults=schedule.active_names,
                          phase=lambda: self.history.phase)
        driver = TrafficDriver(plans, self.make_client, self.workload.execute)
        self.history.set_phase("traffic")
        if self.parameters.get("mode") != "deterministic":
            return self.drive(driver, schedule, sampler, duration)
        held = self.hold_appliers()
        return self.drive(driver, schedule, sampler, duration, after_traffic=lambda: self.release_appliers(held))

    def _count_diverged(self) -> int:
        return sum(len(self.compare(self.lab, table.name).rows) for table in self.tables)

    def check(self, name: str) -> pd.DataFrame:
        """Compare every table on every DC; one row per diverged row with `key` and `table` first."""
        self.stopped_appliers[name] = self.snapshot_links(name)
        frames, keys, read_at = [], [], {}
        self.check_results[name] = {}
        for table in self.tables:
            result = self.compare(self.lab, table.name)
            self.check_results[name][table.name] = result
            read_at[table.name] = result.read_at
            rows = result.rows
            if rows.empty:
                continue
            texts = [key_text(values) for values in rows[result.key_columns].itertuples(index=False, name=None)]
            frame = rows.drop(columns=result.key_columns)
            frame.insert(0, "table", table.name)
            frame.insert(0, "key", texts)
            frames.append(frame)
            keys += [f"{table.name}:{text}" for text in texts]
        self.history.event("check", name=name, diverged_keys=keys, read_at=read_at,
                           stopped_appliers=self.stopped_appliers[name])
        found = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["key", "table"])
        self.checks[name] = found
        return found

    def diverged(self, name: str) -> set[tuple[str, str]]:
        frame = self.checks.get(name)
        return set() if frame is None else set(zip(frame["table"], frame["key"], strict=True))

    def read_snapshot(self) -> Snapshot:
        rows = {dc: {t.name: read_table(self.lab.primary(dc), t.name) for t in self.tables} for dc in self.dcs}
        return Snapshot(rows, self.history.operations())

    def final_rows(self, snapshot: Snapshot) -> FinalRows:
        keys = {t.name: list(t.key) for t in self.tables}
        return {dc: {(name, key_text(row[c] for c in keys[name])): row
                     for name, frame in tables.items() for row in frame.to_dict("records")}
                for dc, tables in snapshot.rows.items()}

    def probe(self, rows: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """One more write per diverged row from the first DC, where the workload knows how; returns those written."""
        self.history.set_phase("probe")
        leader = self.make_client(self.dcs[0], f"probe-{self.dcs[0]}")
        probed = {row for row in sorted(rows) if self.workload.probe(leader, *row)}
        self.catch_up("probe")
        return probed

    def run(self) -> CellOutcome:
        started = time.monotonic()
        context = FaultContext(self.lab, self.history, self.clocks, source=self.experiment_file)
        schedule = FaultSchedule(context, self.experiment.timeline)  # a bad fault target fails before any write
        try:
            self.seed_tables()
            with schedule:
                timeseries = self.traffic(context, schedule)
                self.check("after_run")
                snapshot = self.snapshot = self.read_snapshot()  # the application's end state, before any probe
                probed = self.probe(self.diverged("after_run")) if self.workload.probes else set()
                if probed:
                    self.check("after_probe")
        finally:
            self.close_clients()
        self.note_traffic_errors(timeseries)
        return self.outcome(snapshot, probed, timeseries, time.monotonic() - started)

    # --- verdicts --------------------------------------------------------------------------
    def outcome(self, snapshot: Snapshot, probed: set[tuple[str, str]], timeseries: pd.DataFrame,
                seconds: float) -> CellOutcome:
        invariants = self.workload.invariants()
        violations = [v for invariant in invariants for v in invariant.check(snapshot)]
        lost = lost_writes(snapshot.operations, self.final_rows(snapshot))
        operations = snapshot.operations
        stuck = probed & self.diverged("after_probe")
        culprits = Counter(item.overwritten_by.get("op") for item in lost if item.overwritten_by)
        self.snapshots["replication_errors"] = self.error_list()
        summary: dict[str, Any] = {
            **self.parameters,
            "cell": self.history.cell,
            "status": "completed",
            "error": "",
            "workload": self.workload.name,
            "operations": len(operations),
            **self.operation_errors(operations),
            "rejected_writes": sum(1 for op in operations if op.get("kind") in ("update", "delete")
                                   and not op.get("error") and op.get("rows_affected") == 0),
            "diverged_after_overlap": len(self.diverged("after_run")),
            "diverged_after_leader_write": None,
            "stuck_rows": len(stuck) if self.workload.probes else None,
            "lost_updates": len(lost),
            "replication_errors": len(self.replication_errors),
            "stopped_appliers": self.stopped_appliers.get("after_run", 0),
            "invariant_violations": len(violations),
            **{f"inv_{invariant.name}": sum(1 for v in violations if v.invariant == invariant.name)
               for invariant in invariants},
            **{f"overwritten_by_{op}": culprits.get(op, 0) for op in self.workload.operations},
            **self.workload.counts(snapshot),
            "lost_updates_by_op": dict(Counter(item.write.get("op") for item in lost)),
            "seconds": round(seconds, 2),
        }
        tables = {"violations": violations_frame(violations), "lost_updates": lost_frame(lost)}
        return CellOutcome(summary, self.divergence_table(stuck, lost), self.snapshots, timeseries, tables)

    def divergence_table(self, stuck: set[tuple[str, str]], lost: list[LostWrite]) -> pd.DataFrame:
        frames = [frame.assign(check=name) for name, frame in self.checks.items() if not frame.empty]
        if not frames:
            return pd.DataFrame(columns=["key", "check", "table", "kind", "dcs", "verdict", "lost_update_on_key"])
        table = pd.concat(frames, ignore_index=True)
        probed_later = self.diverged("after_probe") if "after_probe" in self.checks else set()
        lost_rows = {(item.write.get("table"), str(item.write.get("key"))) for item in lost}

        def verdict(row: tuple[str, str]) -> str:
            if row in stuck:
                return "stuck under current guard/format"
            if "after_probe" in self.checks:
                return "diverged" if row in probed_later else "converged after a leader write"
            return "diverged"

        rows = list(zip(table["table"], table["key"], strict=True))
        table["verdict"] = [verdict(row) for row in rows]
        table["lost_update_on_key"] = [row in lost_rows for row in rows]
        ordered = ["key", "check", "table", "kind", "dcs", "verdict", "lost_update_on_key"]
        return table[ordered + [c for c in table.columns if c not in ordered]]


VIOLATION_COLUMNS = ["invariant", "dc", "table", "key", "detail"]
LOST_COLUMNS = ["seq", "dc", "client", "op", "table", "key", "changes", "overwritten_by_seq", "overwritten_by_op",
                "overwritten_by_dc"]


def violations_frame(violations: list[Violation]) -> pd.DataFrame:
    return pd.DataFrame([[v.invariant, v.dc, v.table, v.key, v.detail] for v in violations],
                        columns=VIOLATION_COLUMNS)


def lost_frame(lost: list[LostWrite]) -> pd.DataFrame:
    records = []
    for item in lost:
        write, culprit = item.write, item.overwritten_by or {}
        records.append([write.get("seq"), write.get("dc"), write.get("client"), write.get("op"), write.get("table"),
                        write.get("key"), write.get("changes"), culprit.get("seq"), culprit.get("op"),
                        culprit.get("dc")])
    return pd.DataFrame(records, columns=LOST_COLUMNS)
