"""A run's results directory, written cell by cell, so nothing recorded is lost if the run stops.

Layout (file names and columns: lab.results.schema):
    run.json            what was run (experiment, seed, cells, lab version) and whether it completed
    experiment.yaml     the experiment file as it was
    history.jsonl       every operation, phase, check, fault and event of every cell
    cells.csv           one row per cell: parameters and verdict counts
    cells/<id>/         divergence.csv, summary.json, status.json, violations.csv, lost_updates.csv,
                        timeseries.csv (cells that sampled)
    timeseries.csv      every sampled cell's samples, with a `cell` column
    report.md           the human summary (lab.results.markdown)
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from lab.results import schema


def lab_version() -> str:
    try:
        return version("mysql-replication-lab")
    except PackageNotFoundError:
        return "unknown"


@dataclass
class CellOutcome:
    """Everything a cell measured; `summary` is one row of cells.csv."""

    summary: dict[str, Any]
    divergence: pd.DataFrame
    snapshots: dict[str, Any] = field(default_factory=dict)
    timeseries: pd.DataFrame | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)   # per-cell file name -> frame

    @classmethod
    def failed(cls, parameters: dict[str, str], cell: str, message: str) -> CellOutcome:
        return cls({**parameters, "cell": cell, "status": "failed", "error": message}, pd.DataFrame())


def cell_columns(summaries: list[dict[str, Any]], parameters: list[str]) -> list[str]:
    """cells.csv's columns: the lab's own, a workload's parameters after the lab's, then every other scalar."""
    lab_columns = list(schema.CELL_COLUMN_NAMES)
    own = [key for key in parameters if key not in lab_columns]
    extra = [key for summary in summaries for key, value in summary.items()
             if key not in lab_columns and not isinstance(value, (dict, list, set, tuple))]
    split = lab_columns.index("status")
    return lab_columns[:split] + own + lab_columns[split:] + [c for c in dict.fromkeys(extra) if c not in own]


@dataclass
class RunDirectory:
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)
    summaries: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def create(cls, root: Path, experiment_name: str, experiment_file: Path, seed: int,
               cells: list[dict[str, str]], argv: list[str], parameters: list[str], kind: str) -> RunDirectory:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = root / f"{experiment_name}-{stamp}"
        suffix = 1
        while path.exists():
            suffix += 1
            path = root / f"{experiment_name}-{stamp}-{suffix}"
        (path / schema.CELLS_DIR).mkdir(parents=True)
        shutil.copy(experiment_file, path / schema.EXPERIMENT_COPY)
        run = cls(path, {
            "results_format": schema.RESULTS_FORMAT, "lab_version": lab_version(), "experiment": experiment_name,
            "kind": kind, "experiment_file": str(experiment_file), "seed": seed, "argv": argv,
            "parameters": list(parameters),
            "started": time.time(), "finished": None, "completed": False,
            "cells_planned": len(cells), "cells_done": 0, "cells_failed": 0,
        })
        run.write_meta()
        return run

    @property
    def history_path(self) -> Path:
        return self.path / schema.HISTORY_FILE

    def write_meta(self) -> None:
        (self.path / schema.RUN_FILE).write_text(json.dumps(self.meta, indent=2, default=str))

    def record(self, cell: str, outcome: CellOutcome) -> None:
        directory = self.path / schema.CELLS_DIR / cell
        directory.mkdir(parents=True, exist_ok=True)
        outcome.divergence.to_csv(directory / schema.DIVERGENCE_FILE, index=False)
        (directory / schema.SUMMARY_FILE).write_text(json.dumps(outcome.summary, indent=2, default=str))
        (directory / schema.STATUS_FILE).write_text(json.dumps(outcome.snapshots, indent=2, default=str))
        for name, frame in outcome.tables.items():
            frame.to_csv(directory / name, index=False)
        if outcome.timeseries is not None and not outcome.timeseries.empty:
            series = outcome.timeseries.assign(cell=cell)
            series.to_csv(directory / schema.TIMESERIES_FILE, index=False)
            run_series = self.path / schema.TIMESERIES_FILE
            series.to_csv(run_series, mode="a", header=not run_series.exists(), index=False)
        self.summaries.append(outcome.summary)
        self._write_cells_csv()
        self.meta["cells_done"] += 1
        self.meta["cells_failed"] += outcome.summary.get("status") != "completed"
        self.write_meta()

    def _write_cells_csv(self) -> None:
        columns = cell_columns(self.summaries, self.meta.get("parameters", []))
        with (self.path / schema.CELLS_FILE).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.summaries)

    def finish(self, completed: bool) -> None:
        self.meta["finished"] = time.time()
        self.meta["completed"] = completed
        self.write_meta()
