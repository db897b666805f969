"""Seconds per cell as the incident matrix grows (18, 72, 216 cells), split into lab start, per-cell reset,
phases and checks, and the speed-up of `--jobs N` (independent labs at once) for N = 1, 2 and 4.

Targets (issue 16): at most 1 s per deterministic cell on MariaDB and 1.5 s on MySQL, with the fixed costs
(starting labs) paid once per lab: "per cell" below is a cell's reset plus its steps, from its summary.
Sizes: 18 = the demo's cells on one flavor (run once per flavor); 72 = every deterministic 2-DC cell of
both flavors and version orders; 216 = the whole matrix (ring-3 and the concurrent mode too). The speed-up
is measured on the 72 cells, against the same cells run with one job in the same run.
Prints figures; never fails on time; writes benchmarks/results/matrix-<date>.csv.
Usage: .venv/bin/python benchmarks/bench_matrix.py [--sizes 18,72,216] [--jobs 1,2,4]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import tempfile
import time
from pathlib import Path
from statistics import mean

from lab import experiments
from lab.cli.tables import show
from lab.runner import run_experiment

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = ROOT / "experiments" / "wix-incident.yaml"
TWO_DC = "topology=active-passive|active-active"
SELECTIONS = {
    "18": [f"mode=deterministic,version_order=dc1_newer,{TWO_DC},flavor={flavor}"
           for flavor in ("mariadb:10.11", "mysql:9.7")],
    "72": [f"mode=deterministic,{TWO_DC}"],
    "216": [""],
}
TARGET_PER_CELL = {"mariadb": 1.0, "mysql": 1.5}
SPEEDUP_SIZE = "72"


def load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def run(selection: str, jobs: int) -> tuple[float, list[dict]]:
    only = experiments.parse_only([selection]) if selection else {}
    with tempfile.TemporaryDirectory() as results:
        started = time.monotonic()
        result = run_experiment(EXPERIMENT, only=only, results_root=results, progress=lambda _m: None, jobs=jobs)
        return time.monotonic() - started, result.summaries


def split(size: str, selection: str, jobs: int, wall: float, cells: list[dict]) -> list[dict]:
    """One row for the run, then one per (flavor, mode): where the seconds went."""
    def total(rows: list[dict], column: str) -> float:
        return sum(float(row.get(column) or 0) for row in rows)

    steps, checks = total(cells, "seconds"), total(cells, "checks_s")
    starts, resets = total(cells, "lab_start_s"), total(cells, "reset_s")
    rows = [{
        "size": size, "selection": selection or "(all)", "jobs": jobs, "group": "run", "cells": len(cells),
        "failed": sum(c.get("status") == "failed" for c in cells),
        "wall_s": round(wall, 1), "wall_per_cell_s": round(wall / max(1, len(cells)), 2),
        "lab_starts_s": round(starts, 1), "resets_s": round(resets, 1), "phases_s": round(steps - checks, 1),
        "checks_s": round(checks, 1),
        "other_s": round(wall * jobs - starts - resets - steps, 1) if jobs == 1 else "",
        "per_cell_s": "", "target_s": "", "verdict": "",
    }]
    groups: dict[tuple[str, str], list[dict]] = {}
    for cell in cells:
        groups.setdefault((cell["flavor"], cell["mode"]), []).append(cell)
    for (flavor, mode), members in sorted(groups.items()):
        per_cell = mean(float(c.get("reset_s") or 0) + float(c.get("seconds") or 0) for c in members)
        target = TARGET_PER_CELL[flavor.split(":")[0]] if mode == "deterministic" else None
        rows.append({
            "size": size, "selection": selection or "(all)", "jobs": jobs, "group": f"{flavor} {mode}",
            "cells": len(members), "lab_starts_s": round(total(members, "lab_start_s"), 1),
            "resets_s": round(total(members, "reset_s"), 1),
            "phases_s": round(total(members, "seconds") - total(members, "checks_s"), 1),
            "checks_s": round(total(members, "checks_s"), 1), "per_cell_s": round(per_cell, 2),
            "target_s": target or "",
            "verdict": "" if target is None else "met" if per_cell <= target
            else f"missed by {per_cell - target:.2f} s",
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="18,72,216", help="comma-separated, of 18, 72, 216")
    parser.add_argument("--jobs", default="1,2,4", help="job counts for the speed-up on the 72 cells")
    args = parser.parse_args()
    sizes, job_counts = args.sizes.split(","), [int(n) for n in args.jobs.split(",")]
    at_start = load_average()
    if float(at_start) > 1.0:
        print(f"warning: load average {at_start} at start: the machine is busy, figures will be slower")
    rows: list[dict] = []
    walls: dict[int, float] = {}
    for size in sizes:
        for selection in SELECTIONS[size]:
            for jobs in (job_counts if size == SPEEDUP_SIZE else [1]):
                wall, cells = run(selection, jobs)
                rows += split(size, selection, jobs, wall, cells)
                if size == SPEEDUP_SIZE:
                    walls[jobs] = wall
                print(f"  {size} cells ({selection or 'all'}), --jobs {jobs}: {wall:.1f} s", flush=True)
    for row in rows:
        row["speedup"] = f"{walls[1] / walls[row['jobs']]:.2f}x" if row["group"] == "run" and \
            row["size"] == SPEEDUP_SIZE and 1 in walls else ""
    stamp = time.strftime("%Y-%m-%d")
    out = ROOT / "benchmarks" / "results" / f"matrix-{stamp}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    show([{k: v for k, v in row.items() if k != "selection"} for row in rows],
         title=f"incident matrix as it grows ({platform.node()}, {os.cpu_count()} cpus, {stamp}, load "
               f"{at_start} -> {load_average()}); per_cell = reset + steps; sums over jobs when jobs > 1")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
