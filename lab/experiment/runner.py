"""Run an experiment's matrix: one lab per (flavor, topology), reset between cells, results written per cell.

A cell never sees another cell's data or binlog positions: `Lab.reset` drops user schemas with
the binary log off and resets binlogs, GTIDs and replica state before each cell.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lab import cleanup
from lab import topology as topo
from lab.cluster import Lab
from lab.errors import LabError
from lab.experiment import spec
from lab.experiment.cell import Compare, failed_outcome
from lab.experiment.divergence import compare_dcs
from lab.experiment.incident import IncidentCell
from lab.experiment.report import write_report
from lab.experiment.results import RunDirectory
from lab.experiment.timeline import TimelineCell
from lab.experiment.workload_cell import WorkloadCell
from lab.history import History

Progress = Callable[[str], None]
# Each experiment kind's cell, and the least catch-up timeout it needs (traffic and faults build up lag).
CELL_TYPES: dict[type, tuple[type, float]] = {
    spec.Experiment: (IncidentCell, 0.0),
    spec.TimelineExperiment: (TimelineCell, 120.0),
    spec.WorkloadExperiment: (WorkloadCell, 120.0),
}


def make_cell(experiment: spec.AnyExperiment, lab: Lab, parameters: dict[str, str], history: History,
              compare: Compare, seed: int, catch_up_timeout: float,
              path: Path) -> IncidentCell | TimelineCell | WorkloadCell:
    """The cell class the experiment's kind names; every kind takes the same inputs."""
    cell_type, least_timeout = CELL_TYPES[type(experiment)]
    return cell_type(lab, experiment, parameters, history, compare, seed, max(catch_up_timeout, least_timeout),
                     str(path))


def progress_line(summary: dict) -> str:
    if summary["status"] != "completed":
        return f"FAILED: {summary['error']}"
    stuck = f", stuck {summary['stuck_rows']}" if summary.get("stuck_rows") is not None else ""
    line = (f"diverged {summary['diverged_after_overlap']}{stuck}, "
            f"lost {summary['lost_updates']}, repl errors {summary['replication_errors']}")
    if summary.get("invariant_violations") is not None:
        line += f", invariant violations {summary['invariant_violations']}"
    return f"{line} ({summary['seconds']}s)"


@dataclass
class RunResult:
    directory: RunDirectory
    completed: bool

    @property
    def summaries(self) -> list[dict]:
        return self.directory.summaries


def _order(cells: list[dict[str, str]]) -> list[dict[str, str]]:
    """Group cells by (flavor, topology) so each lab is started once; keep file order within a group."""
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    for cell in cells:
        groups.setdefault((cell["flavor"], cell["topology"]), []).append(cell)
    return [cell for group in groups.values() for cell in group]


def run(experiment_file: str | Path, *, only: dict[str, set[str]] | None = None, seed: int | None = None,
        results_root: str | Path = "results", progress: Progress = print, compare: Compare = compare_dcs,
        catch_up_timeout: float = 60.0) -> RunResult:
    """Run the selected cells. Raises LabError for bad input before anything starts."""
    path = Path(experiment_file)
    experiment = spec.load(path)
    unknown = sorted(set(only or {}) - set(experiment.parameter_keys()))
    if unknown:
        raise LabError(f"{path}: --only {unknown[0]}: not a matrix key of this experiment "
                       f"(keys: {', '.join(experiment.parameter_keys())})")
    cells = _order(spec.select(experiment.cells(), only or {}))
    if not cells:
        raise LabError(f"{path}: --only selects no cell of the matrix")
    run_seed = experiment.seed if seed is None else seed
    directory = RunDirectory.create(Path(results_root), experiment.name, path, run_seed, cells, sys.argv,
                                    experiment.parameter_keys(), experiment.kind)
    history = History(directory.history_path, experiment.name)
    lab: Lab | None = None
    lab_key: tuple[str, str] | None = None
    completed = False
    progress(f"running {len(cells)} cell(s) of {experiment.name}; results in {directory.path}")
    try:
        with cleanup.sigterm_as_interrupt():
            for number, parameters in enumerate(cells, start=1):
                cell = spec.cell_id(parameters)
                key = (parameters["flavor"], parameters["topology"])
                try:
                    if lab is None or key != lab_key:
                        if lab is not None:
                            lab.down()
                            lab = None
                        resolved = topo.load(topo.find(parameters["topology"]), flavor=parameters["flavor"],
                                             binlog_format=parameters["binlog_format"])
                        name = f"run{os.getpid()}-{parameters['topology']}"[:31].rstrip("-")
                        progress(f"starting {parameters['topology']} on {parameters['flavor']}")
                        lab, lab_key = Lab.up(resolved, name=name, progress=lambda _m: None), key
                    else:
                        lab.reset(binlog_format=parameters["binlog_format"])
                    history.start_cell(cell, parameters)
                    outcome = make_cell(experiment, lab, parameters, history, compare, run_seed, catch_up_timeout,
                                        path).run()
                except Exception as error:  # a failed cell is recorded; the run goes on with the next cell
                    outcome = failed_outcome(parameters, cell, error)
                    history.event("cell_failed", error=outcome.summary["error"],
                                  traceback=traceback.format_exc(limit=8))
                    if lab is not None:
                        lab.down()
                    lab, lab_key = None, None
                directory.record(cell, outcome)
                progress(f"[{number}/{len(cells)}] {cell}: {progress_line(outcome.summary)}")
            completed = True
    finally:
        history.close()
        if lab is not None:
            lab.down()
        directory.finish(completed)
        write_report(directory.path)
    return RunResult(directory, completed)
