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

from lab.errors import LabError
from lab.results import schema

INTERRUPTED_DIR = "interrupted"   # what cells cut short by an interruption left, set aside by a resume


def unique_path(path: Path) -> Path:
    """`path`, or `path-2`, `path-3`, ...: the first that does not exist (two runs started in one second)."""
    candidate, suffix = path, 1
    while candidate.exists():
        suffix += 1
        candidate = path.with_name(f"{path.name}-{suffix}")
    return candidate


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

    @classmethod
    def refused(cls, parameters: dict[str, str], cell: str, design: str, format_outcome: str,
                applied_as: str) -> CellOutcome:
        """A cell whose servers refused its binlog format (or every write under it): that is its result."""
        return cls({**parameters, "cell": cell, "status": "refused", "design": design,
                    "binlog_format_outcome": format_outcome, "binlog_format_applied_as": applied_as, "error": ""},
                   pd.DataFrame())


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
               cells: list[dict[str, str]], argv: list[str], parameters: list[str], kind: str,
               shard: dict[str, Any] | None = None) -> RunDirectory:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        base = f"{experiment_name}-{stamp}" + (f"-shard{shard['index']}of{shard['count']}" if shard else "")
        path = unique_path(root / base)
        (path / schema.CELLS_DIR).mkdir(parents=True)
        shutil.copy(experiment_file, path / schema.EXPERIMENT_COPY)
        run = cls(path, {
            "results_format": schema.RESULTS_FORMAT, "lab_version": lab_version(), "experiment": experiment_name,
            "kind": kind, "experiment_file": str(experiment_file), "seed": seed, "argv": argv,
            "parameters": list(parameters),
            "started": time.time(), "finished": None, "completed": False,
            "cells_planned": len(cells), "cells_done": 0, "cells_failed": 0,
            "cells": cells, "labs": [], "shard": shard,
        })
        run.write_meta()
        return run

    @classmethod
    def open(cls, path: Path) -> RunDirectory:
        """A run directory to resume: its run.json, and the summaries of the cells it recorded.

        A cell is recorded once cells.csv lists it and its summary.json reads back; anything else
        under cells/ was cut short by the interruption.
        """
        meta_file = path / schema.RUN_FILE
        try:
            meta = json.loads(meta_file.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise LabError(f"--resume {path}: cannot read {schema.RUN_FILE} ({exc})") from None
        if meta.get("results_format") != schema.RESULTS_FORMAT or not isinstance(meta.get("cells"), list):
            raise LabError(f"--resume {path}: written in results format {meta.get('results_format')}, which has no "
                           f"list of its cells; only a run of this lab (format {schema.RESULTS_FORMAT}) can resume")
        run = cls(path, meta)
        listed = []
        if (path / schema.CELLS_FILE).exists():
            with (path / schema.CELLS_FILE).open(newline="") as handle:
                listed = [row["cell"] for row in csv.DictReader(handle)]
        for cell in listed:
            try:
                run.summaries.append(json.loads((path / schema.CELLS_DIR / cell / schema.SUMMARY_FILE).read_text()))
            except (OSError, json.JSONDecodeError):
                break  # a summary cut short: this cell and the ones after it run again
        return run

    @property
    def recorded(self) -> list[str]:
        return [str(summary["cell"]) for summary in self.summaries]

    def set_aside(self) -> list[str]:
        """Move what cells cut short left under cells/ to interrupted/ (kept, not read), and drop their rows
        from the run-level timeseries.csv. Returns those cells."""
        recorded = set(self.recorded)
        partial = sorted(p.name for p in (self.path / schema.CELLS_DIR).iterdir() if p.is_dir()
                         and p.name not in recorded)
        for cell in partial:
            target = self.path / INTERRUPTED_DIR / cell
            suffix = 1
            while target.exists():
                suffix += 1
                target = self.path / INTERRUPTED_DIR / f"{cell}-{suffix}"
            target.parent.mkdir(exist_ok=True)
            (self.path / schema.CELLS_DIR / cell).rename(target)
        series = self.path / schema.TIMESERIES_FILE
        if series.exists() and series.stat().st_size:
            frame = pd.read_csv(series, dtype=str, keep_default_na=False)
            frame[frame["cell"].isin(recorded)].to_csv(series, index=False)
        self.meta["cells_done"] = len(self.summaries)
        self.meta["cells_failed"] = sum(s.get("status") == "failed" for s in self.summaries)
        self.meta.setdefault("resumed", []).append({"at": time.time(), "rerun": partial})
        self.write_meta()
        return partial

    def note_lab(self, name: str) -> None:
        """Remember a lab this run started, so a resume can remove what a killed run left behind."""
        if name not in self.meta.setdefault("labs", []):
            self.meta["labs"].append(name)
            self.write_meta()

    def note_servers(self, flavor: str, versions: list[str]) -> None:
        """Which server versions a flavor turned out to be (`mariadb 10.11.19`): what the results were measured on."""
        known = self.meta.setdefault("server_versions", {})
        if known.get(flavor) != sorted(set(versions)):
            known[flavor] = sorted(set(versions))
            self.write_meta()

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
            append_rows(self.path / schema.TIMESERIES_FILE, series)
        self.summaries.append(outcome.summary)
        self.write_cells_csv()
        self.meta["cells_done"] += 1
        self.meta["cells_failed"] += outcome.summary.get("status") == "failed"
        self.write_meta()

    def write_cells_csv(self) -> None:
        columns = cell_columns(self.summaries, self.meta.get("parameters", []))
        with (self.path / schema.CELLS_FILE).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.summaries)

    def finish(self, completed: bool) -> None:
        self.meta["finished"] = time.time()
        self.meta["completed"] = completed
        self.write_meta()


def append_rows(path: Path, frame: pd.DataFrame) -> None:
    """Append to a CSV whose rows may carry different columns (links on one design, members on another): rows
    go under the file's header, and a column the file lacks rewrites it once with the union of the columns."""
    if not path.exists():
        frame.to_csv(path, index=False)
        return
    with path.open(newline="") as handle:
        header = next(csv.reader(handle), [])
    if set(frame.columns) <= set(header):
        frame.reindex(columns=header).to_csv(path, mode="a", header=False, index=False)
        return
    existing = pd.read_csv(path, dtype=str, keep_default_na=False)
    merged = pd.concat([existing, frame.astype(object)], ignore_index=True)
    scratch = path.with_name(path.name + ".tmp")
    merged.to_csv(scratch, index=False)
    scratch.replace(path)
