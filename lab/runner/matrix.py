"""Run an experiment's matrix: one lab per (flavor, topology), reset between cells, results written per cell.

A cell never sees another cell's data or binlog positions: `Lab.reset` drops user schemas with
the binary log off and resets binlogs, GTIDs and replica state before each cell.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lab import experiments
from lab.db import cleanup, engine, formats
from lab.db import topology as topo
from lab.db.images import resolve as image_resolve
from lab.db.images.seed import seeded
from lab.db.lab import Lab
from lab.errors import ConfigError, LabError
from lab.history import INTERRUPTED_SUFFIX, History, keep_cells
from lab.results import schema
from lab.results.markdown import write_report
from lab.results.writer import INTERRUPTED_DIR, CellOutcome, RunDirectory
from lab.runner.cell import Cell, failed_outcome
from lab.runner.evidence import Compare, compare_dcs
from lab.runner.jobs import LEFT_OUT, run_jobs
from lab.runner.progress import RunProgress

Progress = Callable[[str], None]


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


@dataclass
class Plan:
    """What a run will do, known without an engine: the experiment, the cells of its selection in run order,
    and the slice of them this shard runs."""

    path: Path
    experiment: experiments.AnyExperiment
    selected: list[dict[str, str]]
    cells: list[dict[str, str]]
    only: dict[str, set[str]]
    shard: tuple[int, int] | None = None
    not_applicable: dict[str, str] = field(default_factory=dict)   # cell -> why it cannot run (design vs flavor)

    def shard_meta(self) -> dict | None:
        if self.shard is None:
            return None
        return {"index": self.shard[0], "count": self.shard[1],
                "all_cells": [experiments.cell_id(cell) for cell in self.selected]}


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` -> (K, N), 1 <= K <= N."""
    index, _, count = text.partition("/")
    try:
        k, n = int(index), int(count)
    except ValueError:
        raise LabError(f"--shard {text!r}: expected K/N, e.g. --shard 2/3") from None
    if not 1 <= k <= n:
        raise LabError(f"--shard {text!r}: K must be between 1 and N, e.g. --shard 1/{max(n, 1)}")
    return k, n


def shard_slice(cells: list[dict[str, str]], index: int, count: int) -> list[dict[str, str]]:
    """Shard K of N: a contiguous slice of the run order (so a shard starts few labs), sizes differing by at most
    one; the N slices cover every cell exactly once."""
    return cells[(index - 1) * len(cells) // count: index * len(cells) // count]


def plan(experiment_file: str | Path, only: dict[str, set[str]] | None = None,
         shard: tuple[int, int] | None = None) -> Plan:
    """Validate the file (or shipped experiment) and the selection and list the cells, without an engine.
    Raises LabError."""
    path = experiments.find(experiment_file)
    experiment = experiments.load(path)
    unknown = sorted(set(only or {}) - set(experiment.parameter_keys()))
    if unknown:
        raise LabError(f"{path}: --only {unknown[0]}: not a matrix key of this experiment "
                       f"(keys: {', '.join(experiment.parameter_keys())})")
    selected = _order(experiments.select(experiment.cells(), only or {}))
    if not selected:
        raise LabError(f"{path}: {experiments.unmatched(experiment.cells(), only or {})}")
    reasons = {key: why for key in dict.fromkeys((c["flavor"], c["topology"]) for c in selected)
               if (why := not_applicable(*key))}
    names = dict.fromkeys(c["topology"] for c in selected)
    certifying = {name: topo.load(topo.find(name)).certifying for name in names}
    left_out = {experiments.cell_id(c): why for c in selected
                if (why := reasons.get((c["flavor"], c["topology"]))
                    or held_on_certifying(experiment, c, certifying[c["topology"]]))}
    selected = [c for c in selected if experiments.cell_id(c) not in left_out]
    if not selected:
        raise LabError(f"{path}: no selected cell can run: {next(iter(left_out.values()))}")
    cells = shard_slice(selected, *shard) if shard else selected
    return Plan(path, experiment, selected, cells, dict(only or {}), shard, left_out)


def held_on_certifying(experiment: experiments.AnyExperiment, cell: dict[str, str], certifying: bool) -> str | None:
    """A workload cell in deterministic mode holds the appliers, which a group or a Galera cluster does not have
    (the incident kind forces its overlap with transactions there instead)."""
    if experiment.kind != "workload" or cell.get("mode") != "deterministic":
        return None
    if certifying:
        return (f"{cell['topology']}: mode deterministic holds appliers, and its members certify writes instead "
                "(use mode concurrent)")
    return None


def not_applicable(flavor: str, topology: str) -> str | None:
    """Why a (flavor, topology) pair of the matrix cannot run (Group Replication on MariaDB, Galera on MySQL);
    such cells are left out of the run and named, not failed."""
    try:
        topo.load(topo.find(topology), flavor=flavor)
    except ConfigError as exc:
        return f"{topology} on {flavor}: {exc.problem}"
    return None


def run_experiment(experiment_file: str | Path, *, only: dict[str, set[str]] | None = None, seed: int | None = None,
                   results_root: str | Path = "results", progress: Progress = print, compare: Compare = compare_dcs,
                   catch_up_timeout: float = 60.0, shard: tuple[int, int] | None = None, jobs: int = 1) -> RunResult:
    """Run the selected cells (shard K of N of them, if given), in `jobs` independent labs at once if more
    than one (lab.runner.jobs). Raises LabError for bad input before anything starts."""
    chosen = plan(experiment_file, only, shard)
    experiment, path, cells = chosen.experiment, chosen.path, chosen.cells
    run_seed = experiment.seed if seed is None else seed
    jobs = min(jobs, len(cells))
    if jobs > 1 and (shard is not None or compare is not compare_dcs or catch_up_timeout != 60.0):
        raise LabError("--jobs: a run split into jobs is sharded by the lab itself, with the default checker "
                       "and timeout; drop --shard (or run with --jobs 1)")
    for reason in dict.fromkeys(chosen.not_applicable.values()):
        progress(f"{LEFT_OUT}{reason}")
    if cells:
        preflight(cells, progress)
    if jobs > 1:
        progress(f"running {len(cells)} cell(s) of {experiment.name} in {jobs} jobs, each on labs of its own")
        directory, completed = run_jobs(path, experiment.name, chosen.only, run_seed, jobs, Path(results_root),
                                        progress)
        return RunResult(directory, completed)
    directory = RunDirectory.create(Path(results_root), experiment.name, path, run_seed, cells, sys.argv,
                                    experiment.parameter_keys(), experiment.kind, shard=chosen.shard_meta())
    where = f" (shard {shard[0]}/{shard[1]} of {len(chosen.selected)})" if shard else ""
    progress(f"running {len(cells)} cell(s){where} of {experiment.name}; results in {directory.path}")
    matrix = Matrix(experiment, path, run_seed, directory, History(directory.history_path, experiment.name),
                    progress, compare, catch_up_timeout)
    return matrix.run(cells)


def preflight(cells: list[dict[str, str]], progress: Progress) -> None:
    """Before a results folder exists: the engine answers, and every flavor the cells need has its image (built
    now if it must be). A run that cannot start any cell fails here, in one line, with nothing written."""
    engine.client()
    requests = {}
    for flavor, topology in dict.fromkeys((cell["flavor"], cell["topology"]) for cell in cells):
        for server in topo.load(topo.find(topology), flavor=flavor).servers.values():   # a design's variant too
            requests.setdefault(str(server.image), server.image)
    for request in requests.values():
        seeded(image_resolve.resolve(request, progress=progress))


def resume_experiment(run_dir: str | Path, *, progress: Progress = print, compare: Compare = compare_dcs,
                      catch_up_timeout: float = 60.0) -> RunResult:
    """Continue a run that was killed: its recorded cells stay as they are, every other cell runs (a cell cut
    short runs again from its start, marked `rerun_after_interrupt`), and the history stays one valid file."""
    directory = RunDirectory.open(Path(run_dir))
    experiment = experiments.load(directory.path / schema.EXPERIMENT_COPY)
    preflight(directory.meta["cells"], progress)
    for name in directory.meta.get("labs", []):  # a killed run leaves its labs behind
        cleanup.remove_lab(name)
    partial = set(directory.set_aside())
    recorded = set(directory.recorded)
    remaining = [cell for cell in directory.meta["cells"] if experiments.cell_id(cell) not in recorded]
    first_seq = keep_cells(directory.history_path, recorded)
    partial |= {experiments.cell_id(cell) for cell in remaining} & cells_in(directory.path)
    progress(f"resuming {experiment.name}: {len(recorded)} cell(s) recorded, {len(remaining)} to run "
             f"({len(partial)} cut short); results in {directory.path}")
    matrix = Matrix(experiment, directory.path / schema.EXPERIMENT_COPY, int(directory.meta["seed"]), directory,
                    History(directory.history_path, experiment.name, first_seq), progress, compare,
                    catch_up_timeout, rerun=partial)
    return matrix.run(remaining, done=len(recorded))


def cells_in(run_dir: Path) -> set[str]:
    """Cells an interrupted run had started: set aside under interrupted/, or named in its set-aside history."""
    aside = run_dir / INTERRUPTED_DIR
    names = {p.name for p in aside.iterdir()} if aside.exists() else set()
    interrupted = run_dir / (Path(schema.HISTORY_FILE).stem + INTERRUPTED_SUFFIX)
    if interrupted.exists():
        for line in interrupted.read_text().splitlines():
            try:
                names.add(str(json.loads(line).get("cell")))
            except json.JSONDecodeError:
                continue
    return names


@dataclass
class Matrix:
    """The cells of one run, on labs started per (flavor, topology) and reset between cells."""

    experiment: experiments.AnyExperiment
    source: Path
    seed: int
    directory: RunDirectory
    history: History
    progress: Progress
    compare: Compare
    catch_up_timeout: float
    rerun: set[str] = field(default_factory=set)
    lab: Lab | None = None
    lab_key: tuple[str, str] | None = None

    def run(self, cells: list[dict[str, str]], done: int = 0) -> RunResult:
        completed = False
        shown = RunProgress(done + len(cells), done)
        try:
            with cleanup.sigterm_as_interrupt():
                for parameters in cells:
                    cell = experiments.cell_id(parameters)
                    outcome = self.cell(cell, parameters)
                    if cell in self.rerun:
                        outcome.summary["rerun_after_interrupt"] = True
                    self.history.flush()   # a recorded cell has every record of its history on disk
                    self.directory.record(cell, outcome)
                    self.progress(shown.line(cell, outcome.summary))
                completed = True
        finally:
            self.history.close()
            self.down()
            self.directory.finish(completed)
            write_report(self.directory.path)
        return RunResult(self.directory, completed)

    def cell(self, cell: str, parameters: dict[str, str]) -> CellOutcome:
        """One cell on a lab of its flavor and topology; a cell that fails is recorded, and the run goes on."""
        try:
            started = time.monotonic()
            lab, reused = self.lab_for(parameters)
            prepared = round(time.monotonic() - started, 2)
            self.history.start_cell(cell, parameters)
            if lab.format_outcome is not None and not lab.format_outcome.runs:
                self.history.event("binlog_format_refused", outcome=lab.format_outcome.summary())
                outcome = CellOutcome.refused(parameters, cell, lab.design.label, lab.format_outcome.summary(),
                                              lab.format_outcome.applied_as)
            else:
                outcome = Cell.of(lab, self.experiment, parameters, self.history, self.seed, self.compare,
                                  self.catch_up_timeout, str(self.source)).run()
            outcome.summary.update(lab_start_s=0.0 if reused else prepared, reset_s=prepared if reused else 0.0)
            return outcome
        except Exception as error:
            outcome = failed_outcome(parameters, cell, error)
            self.history.event("cell_failed", error=outcome.summary["error"], traceback=traceback.format_exc(limit=8))
            self.down()
            return outcome

    def lab_for(self, parameters: dict[str, str]) -> tuple[Lab, bool]:
        """The lab for the cell's flavor and topology, and whether it was already up (then it is only reset)."""
        key = (parameters["flavor"], parameters["topology"])
        if self.lab is not None and key == self.lab_key:
            self.lab.reset(binlog_format=parameters["binlog_format"])
            return self.lab, True
        self.down()
        wanted = parameters["binlog_format"]
        path = topo.find(parameters["topology"])
        resolved = topo.load(path, flavor=parameters["flavor"], binlog_format=wanted)
        own = topo.load(path, flavor=parameters["flavor"])
        name = f"run{os.getpid()}-{parameters['topology']}"[:31].rstrip("-")
        self.directory.note_lab(name)
        self.progress(f"starting {parameters['topology']} on {parameters['flavor']}")
        try:
            self.lab, self.lab_key = Lab.up(resolved, name=name, progress=lambda _m: None), key
            self.lab.note_start_format(wanted)
        except LabError as refusal:
            if all(server.binlog_format == wanted for server in own.servers.values()):
                raise   # the topology's own format: not a refusal of the cell's format, a failure
            # Did the servers refuse the cell's format, or can they not start at all? Start with the topology's.
            self.progress(f"{parameters['topology']} did not start with binlog_format={wanted}; "
                          "starting it with its own format")
            self.lab, self.lab_key = Lab.up(own, name=name, progress=lambda _m: None), key
            self.lab.note_start_format(wanted, formats.start_refusal(str(refusal)))
        self.directory.note_servers(parameters["flavor"], [s.dialect.label for s in self.lab.servers.values()])
        return self.lab, False

    def down(self) -> None:
        if self.lab is not None:
            self.lab.down()
        self.lab, self.lab_key = None, None
