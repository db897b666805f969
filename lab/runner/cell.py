"""One cell: a workload, its steps, a fault schedule and the history, on one lab. Every experiment kind runs here.

A cell is a composition (lab.runner.plans builds it from the experiment file): the workload
(lab.workloads) names the tables and the operations, the steps (lab.runner.steps) say what happens
in which order, the fault schedule (lab.faults) says when faults start and heal, and every statement,
check and fault lands in the history. The verdicts are then computed from the servers and the
history only (lab.runner.outcome), the same way for every kind.
"""

from __future__ import annotations

import time
from collections import Counter

import pandas as pd

from lab.checker import CheckResult
from lab.client import Client, ClockRegistry, key_text
from lab.db.lab import Lab
from lab.db.server import Server
from lab.errors import LabError
from lab.experiments import AnyExperiment, Fix
from lab.faults import ExecMode, Fault, FaultContext, FaultSchedule, HoldAppliers
from lab.faults.base import FaultError
from lab.history import History
from lab.results.writer import CellOutcome
from lab.runner.driver import TrafficDriver
from lab.runner.evidence import Compare, Evidence, compare_dcs
from lab.runner.outcome import summarize
from lab.runner.plans import CellPlan, plan_cell
from lab.runner.sampler import Sampler
from lab.runner.steps import Probe, Traffic
from lab.verdicts.rows import RowKey, row_order
from lab.workloads import Snapshot
from lab.workloads.guards import guard as make_guard
from lab.workloads.plan import PlannedOp


class Cell(Evidence):
    """Runs one cell's steps on a lab and keeps the evidence: checks, probes, samples, the story's end."""

    def __init__(self, lab: Lab, plan: CellPlan, parameters: dict[str, str], history: History,
                 compare: Compare = compare_dcs, catch_up_timeout: float = 60.0, source: str = "cell") -> None:
        super().__init__(lab, history, max(catch_up_timeout, plan.least_timeout))
        self.plan, self.parameters, self.compare, self.source = plan, parameters, compare, source
        self.workload = plan.workload
        self.tables = self.workload.tables()
        self.dcs = list(lab.topology.dcs)
        self.clocks = ClockRegistry.with_skews(plan.clock_skews)  # shared with clock-skew faults
        self.guard = parameters.get("guard") if self.workload.uses_guard else None
        self.clients: list[Client] = []
        self.checks: dict[str, pd.DataFrame] = {}                  # check -> one row per diverged row
        self.check_results: dict[str, dict[str, CheckResult]] = {}  # check -> table -> the checker's result
        self.check_seq: dict[str, int] = {}                        # check -> seq of its history record
        self.check_seconds = 0.0                                   # wall time of every check, summed
        self.story: Snapshot | None = None                         # the rows when the application's story ended
        self.story_check: str | None = None
        self.probed: dict[str, set[RowKey]] = {}                   # probe label -> rows it wrote
        self.samples: list[pd.DataFrame] = []
        self.fixed = False
        self.context = FaultContext(lab, history, self.clocks, source=source)
        # built before anything is written, so a bad fault target fails the cell first
        self.schedule = FaultSchedule(self.context, plan.timeline)
        self.held: Fault | None = None
        self.certification_errnos = lab.design.certification_errnos(lab)

    @classmethod
    def of(cls, lab: Lab, experiment: AnyExperiment, parameters: dict[str, str], history: History, seed: int,
           compare: Compare = compare_dcs, catch_up_timeout: float = 60.0, source: str = "cell") -> Cell:
        """The cell of `experiment` with these parameters, its steps built by lab.runner.plans."""
        plan = plan_cell(experiment, parameters, seed, list(lab.topology.dcs), lab.design.certifying)
        return cls(lab, plan, parameters, history, compare, catch_up_timeout, source)

    # --- clients -----------------------------------------------------------------------------
    def client(self, dc: str, client_id: str) -> Client:
        if any(existing.client_id == client_id for existing in self.clients):
            raise ValueError(f"client id {client_id!r} is already used in this cell; history records must be "
                             "unambiguous")
        created = Client(dc=dc, server=self.lab.primary(dc), client_id=client_id, history=self.history,
                         clock=self.clocks.clock(dc), guard=make_guard(self.guard) if self.guard else None,
                         dc_index=self.dcs.index(dc), dc_count=len(self.dcs),
                         certification_errnos=self.certification_errnos)
        self.workload.prepare(created)
        self.clients.append(created)
        return created

    def close_clients(self) -> None:
        for client in self.clients:
            client.close()

    # --- steps -------------------------------------------------------------------------------
    def seed(self, dc: str) -> None:
        self.history.set_phase("seed")
        rows = 0
        with self.lab.primary(dc).connect() as connection, connection.cursor() as cursor:
            for table in self.tables:
                cursor.execute(table.create)
            for statement, batch in self.workload.seed_statements(self.clocks.clock(dc)):
                if batch:
                    cursor.executemany(statement, batch)
                    rows += len(batch)
        self.history.event("seed", dc=dc, tables=[t.name for t in self.tables], rows=rows)
        self.catch_up("seed")

    def script(self, phase: str, ops: tuple[PlannedOp, ...], catch_up: bool) -> None:
        self.history.set_phase(phase)
        clients = {client.client_id: client for client in self.clients}   # a later script goes on with them
        numbers: Counter[str] = Counter()
        for op in ops:
            if op.client not in clients:
                clients[op.client] = self.client(op.dc, op.client)
            self.workload.execute(clients[op.client], op, numbers[op.client])
            numbers[op.client] += 1
        if catch_up:
            self.catch_up(phase)

    def hold_appliers(self, phase: str) -> None:
        self.history.set_phase(phase)
        self.held = self.schedule.fault_set.start(HoldAppliers(self.context))

    def release_appliers(self) -> None:
        if self.held is not None:
            self.schedule.fault_set.heal(self.held)
            self.held = None

    def exec_mode(self, mode: str) -> None:
        for link in self.lab.links:
            self.schedule.fault_set.start(ExecMode(self.context, link, mode))

    def heal_faults(self) -> None:
        errors = self.schedule.fault_set.heal_all(close=False)
        if errors:
            raise FaultError("could not heal every fault: " + "; ".join(errors))

    def traffic(self, step: Traffic) -> None:
        """Run the plan with the fault timeline (and the sampler); release held appliers as soon as the clients
        stop, even on error; then quiesce, still sampled."""
        self.history.set_phase(step.phase)
        sampler = None
        if step.sampling is not None:
            sampler = Sampler(self.lab, self.count_diverged, interval=step.sampling.interval,
                              shares=step.sampling.shares, active_faults=self.schedule.active_names,
                              phase=lambda: self.history.phase)
        driver = TrafficDriver(step.plans, self.client, self.workload.execute, closed_loop=step.closed_loop)
        t0 = time.monotonic()
        if sampler:
            sampler.start(t0)
        try:
            try:
                driver.start()
                self.schedule.run(t0, until=t0 + step.duration, stop=driver.stop)
                driver.join(timeout=step.duration + 120)
            finally:
                driver.halt()
                self.release_appliers()
            self.history.set_phase("quiesce")
            self.catch_up("quiesce")
        finally:
            if sampler:
                self.samples.append(sampler.stop())

    def count_diverged(self) -> int:
        return sum(len(self.compare(self.lab, table.name).rows) for table in self.tables)

    def check(self, name: str, story_ends: bool = False) -> pd.DataFrame:
        """Compare every table on every DC: one row per diverged row, `key` and `table` first."""
        started = time.monotonic()
        stopped = self.snapshot_links(name)
        frames, keys, read_at = [], [], {}
        self.check_results[name] = {}
        for table in self.tables:
            result = self.compare(self.lab, table.name)
            self.check_results[name][table.name] = result
            read_at[table.name] = result.read_at
            if result.rows.empty:
                continue
            texts = [key_text(values) for values in result.rows[result.key_columns].itertuples(index=False, name=None)]
            copies = [f"{dc}.{key}" for dc in self.dcs for key in result.key_columns]  # the key is in `key`
            frame = result.rows.drop(columns=[*result.key_columns, *(c for c in copies if c in result.rows)])
            frame.insert(0, "table", table.name)
            frame.insert(0, "key", texts)
            frames.append(frame)
            keys += [f"{table.name}:{text}" for text in texts]
        seconds = round(time.monotonic() - started, 3)
        self.check_seconds += seconds
        record = self.history.event("check", name=name, diverged_keys=keys, read_at=read_at, stopped_appliers=stopped,
                                    seconds=seconds)
        self.check_seq[name] = record["seq"]
        found = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["key", "table"])
        self.checks[name] = found
        if story_ends:
            self.story, self.story_check = self.read_snapshot(), name
        return found

    def diverged(self, name: str) -> set[RowKey]:
        frame = self.checks.get(name)
        return set() if frame is None else set(zip(frame["table"], frame["key"], strict=True))

    def probe(self, step: Probe) -> None:
        """One more write per diverged row where the workload knows how; records the rows written."""
        self.history.set_phase(step.phase)
        leader = self.client(step.dc, f"{step.label}-{step.dc}")
        rows = sorted(self.diverged(step.after), key=row_order)
        self.probed[step.label] = {row for row in rows if self.workload.probe(leader, *row, label=step.label)}
        self.catch_up(step.phase)

    def apply_fix(self, fix: Fix) -> None:
        """Switch the binlog format (appliers restarted to pick it up) and/or the guard later writes use."""
        self.history.set_phase("fix")
        if fix.binlog_format:
            self.lab.set_global("binlog_format", fix.binlog_format)
            for server in self.receiving_servers():
                server.execute(server.dialect.stop_replica("SQL_THREAD"), server.dialect.start_replica("SQL_THREAD"))
        self.history.event("fix", guard=fix.guard, binlog_format=fix.binlog_format)
        self.guard = fix.guard or self.guard
        self.fixed = True

    # --- evidence ----------------------------------------------------------------------------
    def read_snapshot(self) -> Snapshot:
        rows = {dc: {t.name: read_table(self.lab.primary(dc), t.name) for t in self.tables} for dc in self.dcs}
        return Snapshot(rows, self.history.operations(), {t.name: t.key for t in self.tables})

    @property
    def timeseries(self) -> pd.DataFrame | None:
        return pd.concat(self.samples, ignore_index=True) if self.samples else None

    def run(self, close_clients: bool = True) -> CellOutcome:
        """Run every step; every fault is healed however the steps end. `close_clients=False` keeps the
        client sessions open for inspection (tests); the caller closes them."""
        started = time.monotonic()
        try:
            with self.schedule:
                for step in self.plan.steps:
                    step.run(self)
        finally:
            if close_clients:
                self.close_clients()
        return summarize(self, time.monotonic() - started)


def read_table(server: Server, table: str) -> pd.DataFrame:
    """Every row of a table as one DC holds it, with its columns even when it is empty."""
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        columns = [d[0] for d in cursor.description or []]
        return pd.DataFrame(list(cursor.fetchall()), columns=columns, dtype=object)


def failed_outcome(parameters: dict[str, str], cell: str, error: BaseException) -> CellOutcome:
    """A cell that could not run: its one-line reason; a non-lab error is named by its type."""
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    if not isinstance(error, LabError):
        message = f"{type(error).__name__}: {message}"
    return CellOutcome.failed(parameters, cell, message)

