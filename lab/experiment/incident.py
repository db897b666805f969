"""One cell of the incident experiment: seed, leader traffic, overlap, catch-up, checks, probes, fix.

The phases follow the 2019 incident: a single leader, then an active-active overlap in which
both DCs write the same rows, then a single leader again. Every outcome (rows affected,
divergence, lost updates, replication errors) is measured from the servers and the history.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from lab.cluster import Lab
from lab.experiment.cell import Cell, CellOutcome, Compare
from lab.experiment.spec import Experiment
from lab.history import History
from lab.workload.client import VersionedTable
from lab.workload.clock import AppClock


class IncidentCell(Cell):
    def __init__(self, lab: Lab, experiment: Experiment, parameters: dict[str, str], history: History,
                 compare: Compare, seed: int, catch_up_timeout: float = 60.0, experiment_file: str = "") -> None:
        super().__init__(lab, parameters, history, compare, seed, table=VersionedTable(name=experiment.scenario.table),
                         leader_dc=experiment.scenario.leader_after, fix=experiment.fix,
                         catch_up_timeout=catch_up_timeout)
        self.scenario = experiment.scenario
        self.written_after_overlap: set[int] = set()

    # --- phases -------------------------------------------------------------------------
    def seed_rows(self) -> None:
        self.history.set_phase("seed")
        self.lab.primary("dc1").execute(self.table.create_sql())
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
        held = self.hold_appliers()
        versions = self.overlap_versions()
        writers = {dc: self.client(dc, f"app-{dc}") for dc in ("dc1", "dc2")}
        try:
            for key in self.scenario.conflict_rows:
                reads = {dc: writer.read(key) for dc, writer in writers.items()}
                for dc, writer in writers.items():
                    writer.update(key, self.scenario.overlap[dc].value, reads[dc].version, versions[dc])
        finally:
            self.release_appliers(held)

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
        leader = self.client(self.leader_dc, f"after-{self.leader_dc}")
        for write in self.scenario.leader_writes:
            leader.read_modify_write(write.row, write.value, version_step=write.version_increment)
            self.written_after_overlap.add(write.row)
        self.catch_up("leader_after")

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
            self.check("after_overlap")
            self.leader_writes()
            self.check("after_leader_write", story_ends=True)
            untouched = self.diverged_keys("after_leader_write") - self.written_after_overlap
            probed = self.probe_and_fix("after_leader_write")
        finally:
            if close_clients:
                self.close_clients()
        return self.outcome(untouched, probed, time.monotonic() - started)

    def outcome(self, untouched: set[int], probed: set[int], seconds: float) -> CellOutcome:
        operations = self.history.operations()
        overlap_ops = [op for op in operations if op["phase"] == "overlap" and op["kind"] == "update"]
        applied_by_dc: dict[str, set[int]] = {}
        for op in overlap_ops:
            if (op.get("rows_affected") or 0) > 0:
                applied_by_dc.setdefault(op["dc"], set()).add(op["key"])
        conflicting = set.intersection(*applied_by_dc.values()) if len(applied_by_dc) > 1 else set()
        diverged0 = self.diverged_keys("after_overlap")
        written_under_guard = (diverged0 & self.written_after_overlap) | probed
        summary = {
            **self.parameters,
            "cell": self.history.cell,
            "status": "completed",
            "error": "",
            "overlap_updates": len(overlap_ops),
            "overlap_updates_applied": sum(1 for op in overlap_ops if (op.get("rows_affected") or 0) > 0),
            "conflicting_rows": len(conflicting),
            "diverged_after_overlap": len(diverged0),
            "diverged_after_leader_write": len(self.diverged_keys("after_leader_write")),
            **self.verdicts(written_under_guard, untouched),
            "seconds": round(seconds, 2),
        }
        return CellOutcome(summary, self.divergence_table(), self.snapshots)
