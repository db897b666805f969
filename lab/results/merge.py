"""Merge the results directories of a sharded run (`lab run --shard K/N`) into one, as if it had run whole.

Every shard must be a run of the same experiment file with the same seed, and together the shards must
hold each cell of the selection exactly once. The merged directory lists the cells in the order the
unsharded run would have run them, copies every cell's files as they are, and concatenates the
histories and time series (each record keeps its `seq` and gains the `shard` it came from).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd

from lab.errors import LabError
from lab.results import schema
from lab.results.writer import RunDirectory


def _open(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads((path / schema.RUN_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise LabError(f"{path}: not a run directory to merge (no readable {schema.RUN_FILE}: "
                       f"{type(exc).__name__}); give the run directory of every shard") from None
    if meta.get("results_format") != schema.RESULTS_FORMAT:
        raise LabError(f"{path}: results format {meta.get('results_format')}; only format {schema.RESULTS_FORMAT} "
                       "runs merge")
    return meta


def experiment_of(run_dir: Path) -> str:
    return str(_open(run_dir).get("experiment") or "run")


def _check(runs: list[tuple[Path, dict[str, Any]]]) -> list[str]:
    """The order of every cell of the whole selection; refuses runs that are no shards, shards of different
    runs, and a set of shards that is not 1..N once each."""
    (first_path, first), *_ = runs
    reference = (first_path / schema.EXPERIMENT_COPY).read_bytes()
    for path, meta in runs:
        if not meta.get("shard"):
            raise LabError(f"{path}: not a shard (a run of `lab run --shard K/N`); only shards merge")
        if meta.get("experiment") != first.get("experiment") or meta.get("seed") != first.get("seed") or \
                (path / schema.EXPERIMENT_COPY).read_bytes() != reference or \
                meta["shard"].get("all_cells") != first["shard"].get("all_cells"):
            raise LabError(f"{path}: not a shard of the same run as {first_path} (experiment file, seed or "
                           "--only differ)")
    shards = sorted(int(meta["shard"]["index"]) for _, meta in runs)
    count = int(first["shard"]["count"])
    if shards != list(range(1, count + 1)):
        raise LabError(f"shards {shards} do not make up 1..{count}; give every shard once")
    return list(first["shard"]["all_cells"])


def merge(run_dirs: list[Path], target: Path) -> Path:
    """Write the merged run directory `target` (which must not exist) and return it."""
    runs = sorted(((path, _open(path)) for path in run_dirs), key=lambda run: int((run[1].get("shard") or {})
                                                                                   .get("index", 0)))
    order = _check(runs)
    summaries: dict[str, dict[str, Any]] = {}
    for path, _meta in runs:
        for summary_file in sorted((path / schema.CELLS_DIR).glob(f"*/{schema.SUMMARY_FILE}")):
            summary = json.loads(summary_file.read_text())
            if summary["cell"] in summaries:
                raise LabError(f"{path}: cell {summary['cell']} is in two of the runs to merge")
            summaries[summary["cell"]] = summary
    missing = [cell for cell in order if cell not in summaries]
    if missing:
        raise LabError(f"the shards lack {len(missing)} cell(s) of the run, e.g. {missing[0]}; was a shard cut short?")
    if target.exists():
        raise LabError(f"{target}: already exists; merge into a new directory")
    (target / schema.CELLS_DIR).mkdir(parents=True)
    first = runs[0][1]
    shutil.copy(runs[0][0] / schema.EXPERIMENT_COPY, target / schema.EXPERIMENT_COPY)
    ordered = [summaries[cell] for cell in order]
    for path, meta in runs:
        index = (meta.get("shard") or {}).get("index")
        for cell_dir in sorted(p for p in (path / schema.CELLS_DIR).iterdir() if p.name in summaries):
            shutil.copytree(cell_dir, target / schema.CELLS_DIR / cell_dir.name)
        _append_history(path / schema.HISTORY_FILE, target / schema.HISTORY_FILE, index)
    _write_series([path / schema.TIMESERIES_FILE for path, _ in runs], target / schema.TIMESERIES_FILE)
    meta = {**first, "started": min(m.get("started") or time.time() for _, m in runs),
            "finished": max(m.get("finished") or 0 for _, m in runs),
            "completed": all(m.get("completed") for _, m in runs), "cells_planned": len(ordered),
            "cells_done": len(ordered), "cells_failed": sum(s.get("status") == "failed" for s in ordered),
            "cells": [cell for _, shard in runs for cell in shard.get("cells", [])], "shard": None,
            "merged_from": [str(path) for path, _ in runs],
            "labs": [lab for _, m in runs for lab in m.get("labs", [])],
            "server_versions": {flavor: versions for _, m in runs
                                for flavor, versions in (m.get("server_versions") or {}).items()}}
    merged = RunDirectory(target, meta, ordered)
    merged.write_cells_csv()
    merged.write_meta()
    return target


def _append_history(source: Path, target: Path, shard: int | None) -> None:
    if not source.exists():
        return
    with target.open("a") as out:
        for line in source.read_text().splitlines():
            if line.strip():
                out.write(json.dumps({**json.loads(line), "shard": shard}) + "\n")


def _write_series(sources: list[Path], target: Path) -> None:
    """The shards' run-level time series as one (their columns may differ: samples depend on the topology)."""
    frames = [pd.read_csv(path, dtype=str, keep_default_na=False) for path in sources
              if path.exists() and path.stat().st_size]
    if frames:
        pd.concat(frames, ignore_index=True).to_csv(target, index=False)
