"""The steps a cell is made of: the incident's phases, usable by any workload in any order.

    Seed             create the workload's tables and seed them on one DC; replication copies them
    Script           operations run one after another, each by its client (the leader's writes, or both
                     DCs' conflicting writes), then a catch-up unless the appliers are held
    HoldAppliers     start the `hold_appliers` fault: every DC takes writes, none applies the others'
    ReleaseAppliers  heal it: the appliers replay what was held
    ExecMode         the `idempotent` fault (replica_exec_mode) on every link
    Traffic          every planned client on its own thread, with the fault timeline and the sampler;
                     held appliers are released as soon as the clients stop; then it quiesces
    Quiesce          wait until every replica applied everything its source binlogged
    HealFaults       heal every fault still active
    Check            compare every table on every DC; `story_ends`: the application's story ends here
                     and later writes are the lab's own (probes, fix)
    Probe            one more write per row diverged at a check, from one DC, under the current guard
    Fix              switch the binlog format and/or the guard, as the experiment's fix says

A step only says what to do; `lab.runner.cell.Cell` does it and records it, so every step of every
kind of experiment is measured the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lab.experiments.common import Fix as FixSpec
from lab.workloads.plan import PlannedOp

if TYPE_CHECKING:
    from lab.runner.cell import Cell

Shares = Callable[[float], dict[str, float]]


@dataclass(frozen=True)
class Seed:
    dc: str

    def run(self, cell: Cell) -> None:
        cell.seed(self.dc)


@dataclass(frozen=True)
class Script:
    phase: str
    ops: tuple[PlannedOp, ...]
    catch_up: bool = True

    def run(self, cell: Cell) -> None:
        cell.script(self.phase, self.ops, self.catch_up)


@dataclass(frozen=True)
class HoldAppliers:
    phase: str

    def run(self, cell: Cell) -> None:
        cell.hold_appliers(self.phase)


@dataclass(frozen=True)
class ReleaseAppliers:
    def run(self, cell: Cell) -> None:
        cell.release_appliers()


@dataclass(frozen=True)
class ExecMode:
    mode: str

    def run(self, cell: Cell) -> None:
        cell.exec_mode(self.mode)


@dataclass(frozen=True)
class Sampling:
    """Sample divergence, lag and link state every `interval` s; `shares` gives each DC's traffic share at t."""

    interval: float
    shares: Shares


@dataclass(frozen=True)
class Traffic:
    phase: str
    plans: dict[str, list[PlannedOp]]
    duration: float
    closed_loop: bool = False
    sampling: Sampling | None = None

    def run(self, cell: Cell) -> None:
        cell.traffic(self)


@dataclass(frozen=True)
class Quiesce:
    def run(self, cell: Cell) -> None:
        cell.history.set_phase("quiesce")
        cell.catch_up("quiesce")


@dataclass(frozen=True)
class HealFaults:
    def run(self, cell: Cell) -> None:
        cell.heal_faults()


@dataclass(frozen=True)
class Check:
    name: str
    story_ends: bool = False

    def run(self, cell: Cell) -> None:
        cell.check(self.name, story_ends=self.story_ends)


@dataclass(frozen=True)
class Probe:
    """Write each row diverged at `after` once more from `dc`; `label` names the probe, its client and values."""

    after: str
    dc: str
    label: str = "probe"
    phase: str = "probe"

    def run(self, cell: Cell) -> None:
        cell.probe(self)


@dataclass(frozen=True)
class Fix:
    fix: FixSpec

    def run(self, cell: Cell) -> None:
        cell.apply_fix(self.fix)


Step = Seed | Script | HoldAppliers | ReleaseAppliers | ExecMode | Traffic | Quiesce | HealFaults | Check | Probe | Fix
