"""A timeline cell: seeded traffic shifting from one DC to the other, with faults at given times.

While it runs, a sampler records divergence, lag and link state; afterwards the cell heals every
fault, waits for catch-up, checks, probes each diverged row with one leader write, and applies the
fix if the experiment has one. The same seed gives the same operations and the same fault times.
"""

from __future__ import annotations

import time

import pandas as pd

from lab.cluster import Lab
from lab.experiment.cell import Cell, CellOutcome, Compare
from lab.experiment.sampler import Sampler
from lab.experiment.schedule import FaultSchedule
from lab.experiment.spec import TimelineExperiment
from lab.faults import ClockRegistry, FaultContext
from lab.history import History
from lab.workload.client import AppClient, VersionedTable
from lab.workload.driver import TrafficDriver, execute_versioned
from lab.workload.plan import plan

SEED_BATCH = 1000


class TimelineCell(Cell):
    def __init__(self, lab: Lab, experiment: TimelineExperiment, parameters: dict[str, str], history: History,
                 compare: Compare, seed: int, catch_up_timeout: float = 120.0, experiment_file: str = "") -> None:
        traffic = experiment.traffic
        super().__init__(lab, parameters, history, compare, seed, table=VersionedTable(name=traffic.table),
                         leader_dc=traffic.shift.target, fix=experiment.fix, catch_up_timeout=catch_up_timeout)
        self.experiment = experiment
        self.experiment_file = experiment_file or experiment.name
        # shared with clock-skew faults, so a skew moves every client of a DC
        self.clocks = ClockRegistry.with_skews(experiment.clock_skew_ms)

    def seed_rows(self) -> None:
        """Bulk-insert the starting rows on the shift's source DC (one history event, not one op per row)."""
        self.history.set_phase("seed")
        traffic = self.experiment.traffic
        source = self.lab.primary(traffic.shift.source)
        source.execute(self.table.create_sql())
        version = self.clocks.clock(traffic.shift.source).now_ms()
        t = self.table
        with source.connect() as connection, connection.cursor() as cursor:
            for start in range(1, traffic.rows + 1, SEED_BATCH):
                keys = range(start, min(traffic.rows, start + SEED_BATCH - 1) + 1)
                cursor.executemany(f"INSERT INTO {t.name} ({t.key}, {t.value}, {t.version}) VALUES (%s, %s, %s)",
                                   [(k, "seed", version) for k in keys])
        self.history.event("seed", dc=traffic.shift.source, rows=traffic.rows, version=version)
        self.catch_up("seed")

    def _make_client(self, dc: str, client_id: str) -> AppClient:
        return self.client(dc, client_id, clock=self.clocks.clock(dc))

    def _count_diverged(self) -> int:
        return len(self.compare(self.lab, self.table.name).rows)

    def run(self) -> CellOutcome:
        started = time.monotonic()
        traffic = self.experiment.traffic
        try:
            self.seed_rows()
            context = FaultContext(self.lab, self.history, self.clocks, source=self.experiment_file)
            schedule = FaultSchedule(context, self.experiment.timeline)
            sampler = Sampler(self.lab, self._count_diverged, interval=self.experiment.sample_interval,
                              shares=traffic.shift.shares, active_faults=schedule.active_names,
                              phase=lambda: self.history.phase)
            driver = TrafficDriver(plan(traffic, self.seed), self._make_client, execute_versioned,
                                   closed_loop=traffic.closed_loop)
            self.history.set_phase("traffic")
            with schedule:
                timeseries = self.drive(driver, schedule, sampler, traffic.duration)
            self.check("after_run", story_ends=True)
            probed = self.probe_and_fix("after_run")
        finally:
            self.close_clients()
        return self.outcome(probed, timeseries, time.monotonic() - started)

    def outcome(self, probed: set[int], timeseries: pd.DataFrame, seconds: float) -> CellOutcome:
        self.note_traffic_errors(timeseries)
        operations = self.history.operations()
        summary = {
            **self.parameters,
            "cell": self.history.cell,
            "status": "completed",
            "error": "",
            "operations": len(operations),
            **self.operation_errors(operations),
            "diverged_after_overlap": len(self.diverged_keys("after_run")),
            "diverged_after_leader_write": None,
            **self.verdicts(probed, set()),
            "seconds": round(seconds, 2),
        }
        return CellOutcome(summary, self.divergence_table(), self.snapshots, timeseries)
