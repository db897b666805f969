"""Wall time of the full deterministic incident matrix for one flavor (2 topologies x 3 formats x 3 guards).

Target (issue 3): at most 90 s on a 2-core machine. Prints figures; never fails on time.
Usage: .venv/bin/python benchmarks/bench_matrix.py [--flavor mysql:9.7] [--flavor mariadb:10.11]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from lab import experiments
from lab.cli.tables import show
from lab.runner import run_experiment

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 90.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flavor", action="append", help="repeatable; default mysql:9.7 and mariadb:10.11")
    args = parser.parse_args()
    rows = []
    for flavor in args.flavor or ["mysql:9.7", "mariadb:10.11"]:
        selection = experiments.parse_only([f"mode=deterministic,version_order=dc1_newer,flavor={flavor},"
                                     "topology=active-passive|active-active"])
        with tempfile.TemporaryDirectory() as results:
            started = time.monotonic()
            result = run_experiment(ROOT / "experiments" / "wix-incident.yaml", only=selection, results_root=results,
                                progress=lambda _m: None)
            wall = time.monotonic() - started
        cells = result.summaries
        rows.append({
            "flavor": flavor, "cells": len(cells),
            "completed": sum(c["status"] == "completed" for c in cells),
            "wall_s": f"{wall:.1f}", "per_cell_s": f"{wall / max(1, len(cells)):.2f}",
            "target_s": f"{TARGET_SECONDS:.0f}", "ratio_to_target": f"{wall / TARGET_SECONDS:.2f}",
        })
    show(rows, title=f"incident matrix, deterministic, 18 cells per flavor ({platform.node()}, {os.cpu_count()} cpus,"
                     f" {time.strftime('%Y-%m-%d')}; includes starting and removing the labs)")


if __name__ == "__main__":
    main()
