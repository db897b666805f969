"""The analysis API: `Results`, the frames of one or more runs, each loaded on first use."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

import pandas as pd

from lab.results import answers
from lab.results.frames.cells import cells_frame
from lab.results.frames.divergence import divergence_frame
from lab.results.frames.records import faults_frame, history_frame
from lab.results.frames.samples import timeseries_frame
from lab.results.frames.workload import lost_updates_frame, violations_frame
from lab.results.runs import ResultsError, Run, find_runs, latest_run

Sources = str | Path | Iterable[str | Path]


class Results:
    """The frames of one or more runs; each property is loaded on first access."""

    def __init__(self, runs: list[Run]) -> None:
        if not runs:
            raise ResultsError("no runs to load")
        self.runs = runs

    def __repr__(self) -> str:
        return f"Results({len(self.runs)} run(s): {', '.join(run.name for run in self.runs)})"

    @property
    def path(self) -> Path:
        """The directory of the latest run (the one a report about "these results" is written into)."""
        return self.runs[-1].path

    @cached_property
    def info(self) -> pd.DataFrame:
        """One row per run: its run.json, with `started`/`finished` as datetimes."""
        rows = [{"run": run.name, "path": str(run.path), **{k: v for k, v in run.meta.items() if k != "argv"}}
                for run in self.runs]
        frame = pd.DataFrame(rows)
        for column in ("started", "finished"):
            if column in frame:
                frame[column] = pd.to_datetime(pd.to_numeric(frame[column], errors="coerce"), unit="s", utc=True)
        return frame

    @cached_property
    def cells(self) -> pd.DataFrame:
        return cells_frame(self.runs)

    @cached_property
    def history(self) -> pd.DataFrame:
        return history_frame(self.runs)

    @cached_property
    def divergence(self) -> pd.DataFrame:
        return divergence_frame(self.runs, self.cells)

    @cached_property
    def faults(self) -> pd.DataFrame:
        return faults_frame(self.history)

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        return timeseries_frame(self.runs, self.cells)

    @cached_property
    def violations(self) -> pd.DataFrame:
        """Broken invariants of the workloads (lab.workloads), one row each."""
        return violations_frame(self.runs, self.cells)

    @cached_property
    def lost_updates(self) -> pd.DataFrame:
        """Lost writes, with the write that overwrote each one unseen."""
        return lost_updates_frame(self.runs, self.cells)

    def designs(self) -> pd.DataFrame:
        """The replication designs side by side (see lab.results.answers.design_comparison)."""
        return answers.design_comparison(self.cells, self.history)

    def writes_during_faults(self) -> pd.DataFrame:
        """Writes sent to a faulted server while the fault lasted (see lab.results.answers)."""
        return answers.writes_during_faults(self.history, answers.fault_intervals(self.faults))

    def unhealed(self) -> pd.DataFrame:
        """Rows that never healed (see lab.results.answers.unhealed_rows)."""
        return answers.unhealed_rows(self.cells, self.divergence)


def load(sources: Sources) -> Results:
    """Every run under `sources`: a run directory, a parent of run directories, a glob, or a list of those."""
    return Results(find_runs(sources))


def load_latest(sources: Sources, per_experiment: bool = False) -> Results:
    """Only the most recently started run under `sources`; or, with `per_experiment`, the latest of each."""
    if not per_experiment:
        return Results([latest_run(sources)])
    latest: dict[str, Run] = {}
    for run in find_runs(sources):  # oldest first, so later runs replace earlier ones
        latest[str(run.meta.get("experiment", run.name))] = run
    return Results(sorted(latest.values(), key=lambda run: (run.started, run.name)))

