"""A run's results directory: written cell by cell, so nothing recorded is lost if the run stops.

Layout:
    run.json            what was run (experiment, seed, cells, lab version) and whether it completed
    history.jsonl       every operation, phase, check and event of every cell
    cells.csv           one row per cell: parameters and verdict counts
    cells/<id>/         divergence.csv, summary.json, status.json (link status snapshots, errors, lost updates),
                        timeseries.csv (timeline and workload cells: sampled divergence, lag and link state),
                        violations.csv and lost_updates.csv (workload cells: broken invariants, lost writes)
    timeseries.csv      every timeline cell's samples, with a `cell` column
    report.md           the human summary
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

from lab.experiment.cell import CellOutcome

RESULTS_FORMAT = 1
SUMMARY_COLUMNS = [
    "cell", "topology", "binlog_format", "guard", "flavor", "mode", "version_order", "status",
    "overlap_updates", "overlap_updates_applied", "conflicting_rows", "operations", "operation_errors",
    "rejected_writes", "version_regressions",
    "diverged_after_overlap", "diverged_after_leader_write", "stuck_rows", "untouched_diverged",
    "diverged_after_fix", "healed_by_fix", "still_diverged_by_fix", "newly_diverged_by_fix",
    "lost_updates", "lost_updates_after_fix", "replication_errors", "stopped_appliers", "invariant_violations",
    "seconds", "error",
]


def lab_version() -> str:
    try:
        return version("mysql-replication-lab")
    except PackageNotFoundError:
        return "unknown"


@dataclass
class RunDirectory:
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)
    summaries: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def create(cls, root: Path, experiment_name: str, experiment_file: Path, seed: int,
               cells: list[dict[str, str]], argv: list[str], parameters: list[str] | None = None,
               kind: str = "incident") -> RunDirectory:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = root / f"{experiment_name}-{stamp}"
        suffix = 1
        while path.exists():
            suffix += 1
            path = root / f"{experiment_name}-{stamp}-{suffix}"
        (path / "cells").mkdir(parents=True)
        shutil.copy(experiment_file, path / "experiment.yaml")
        run = cls(path, {
            "results_format": RESULTS_FORMAT, "lab_version": lab_version(), "experiment": experiment_name,
            "kind": kind,
            "experiment_file": str(experiment_file), "seed": seed, "argv": argv,
            "parameters": list(parameters or []),
            "started": time.time(), "finished": None, "completed": False,
            "cells_planned": len(cells), "cells_done": 0, "cells_failed": 0,
        })
        run.write_meta()
        return run

    @property
    def history_path(self) -> Path:
        return self.path / "history.jsonl"

    def write_meta(self) -> None:
        (self.path / "run.json").write_text(json.dumps(self.meta, indent=2, default=str))

    def record(self, cell: str, outcome: CellOutcome) -> None:
        directory = self.path / "cells" / cell
        directory.mkdir(parents=True, exist_ok=True)
        outcome.divergence.to_csv(directory / "divergence.csv", index=False)
        (directory / "summary.json").write_text(json.dumps(outcome.summary, indent=2, default=str))
        (directory / "status.json").write_text(json.dumps(outcome.snapshots, indent=2, default=str))
        for name, frame in outcome.tables.items():
            frame.to_csv(directory / f"{name}.csv", index=False)
        if outcome.timeseries is not None and not outcome.timeseries.empty:
            series = outcome.timeseries.assign(cell=cell)
            series.to_csv(directory / "timeseries.csv", index=False)
            run_series = self.path / "timeseries.csv"
            series.to_csv(run_series, mode="a", header=not run_series.exists(), index=False)
        self.summaries.append(outcome.summary)
        self._write_cells_csv()
        self.meta["cells_done"] += 1
        self.meta["cells_failed"] += outcome.summary.get("status") != "completed"
        self.write_meta()

    def columns(self) -> list[str]:
        """The lab's own columns, then every other scalar a cell reported (a workload's knobs and counts)."""
        extra = [key for summary in self.summaries for key, value in summary.items()
                 if key not in SUMMARY_COLUMNS and not isinstance(value, (dict, list, set, tuple))]
        parameters = [key for key in self.meta.get("parameters", []) if key not in SUMMARY_COLUMNS]
        split = SUMMARY_COLUMNS.index("status")  # parameters of its own go with the lab's parameters
        return (SUMMARY_COLUMNS[:split] + parameters + SUMMARY_COLUMNS[split:]
                + [c for c in dict.fromkeys(extra) if c not in parameters])

    def _write_cells_csv(self) -> None:
        with (self.path / "cells.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=self.columns(), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.summaries)

    def finish(self, completed: bool) -> None:
        self.meta["finished"] = time.time()
        self.meta["completed"] = completed
        self.write_meta()
