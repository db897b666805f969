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

from lab import experiments
from lab.db import cleanup
from lab.db import topology as topo
from lab.db.lab import Lab
from lab.errors import LabError
from lab.history import History
from lab.results.markdown import write_report
from lab.results.writer import RunDirectory
from lab.runner.cell import Cell, failed_outcome
from lab.runner.evidence import Compare, compare_dcs

Progress = Callable[[str], None]


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


def run_experiment(experiment_file: str | Path, *, only: dict[str, set[str]] | None = None, seed: int | None = None,
        results_root: str | Path = "results", progress: Progress = print, compare: Compare = compare_dcs,
        catch_up_timeout: float = 60.0) -> RunResult:
    """Run the selected cells. Raises LabError for bad input before anything starts."""
    path = Path(experiment_file)
    experiment = experiments.load(path)
    unknown = sorted(set(only or {}) - set(experiment.parameter_keys()))
    if unknown:
        raise LabError(f"{path}: --only {unknown[0]}: not a matrix key of this experiment "
                       f"(keys: {', '.join(experiment.parameter_keys())})")
    cells = _order(experiments.select(experiment.cells(), only or {}))
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
                cell = experiments.cell_id(parameters)
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
                    outcome = Cell.of(lab, experiment, parameters, history, run_seed, compare, catch_up_timeout,
                                      str(path)).run()
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
