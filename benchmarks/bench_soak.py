"""The runner under load and faults: experiments/soak.yaml (32 clients per DC, 60 s, partition, crash, pause,
clock skew), then what it left: runner crashes, errors by errno, faults without a heal, containers left over.

Usage: .venv/bin/python benchmarks/bench_soak.py [--flavor mariadb:10.11] [--results DIR]
Prints its figures; it never fails on time. Exit 1 only when the runner itself misbehaved (a cell that
could not run, a fault that did not heal, a container left behind), which is what the soak looks for.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lab import experiments  # noqa: E402
from lab.cli.tables import show  # noqa: E402
from lab.db import engine, labels  # noqa: E402
from lab.runner import run_experiment  # noqa: E402

ERRNO_MEANING = {"1205": "lock wait timeout", "1213": "deadlock", "2003": "cannot connect", "2006": "server gone",
                 "2013": "lost connection", "1290": "read only", "1836": "read only", "1062": "duplicate key"}


def faults_without_heal(records: list[dict]) -> list[str]:
    opened: Counter[str] = Counter()
    for record in records:
        if record.get("type") == "fault":
            opened[f"{record['cell']} {record['fault_id']}"] += {"start": 1, "heal": -1}.get(record["event"], 0)
            if record["event"] in ("start_failed", "heal_failed"):
                opened[f"{record['cell']} {record['fault_id']} ({record['event']})"] += 1
    return [name for name, count in opened.items() if count]


def soak(flavor: str, results: Path) -> dict[str, str]:
    started = time.monotonic()
    result = run_experiment(ROOT / "experiments" / "soak.yaml", only=experiments.parse_only([f"flavor={flavor}"]),
                            results_root=results, progress=lambda message: print(f"  {message}", flush=True))
    wall = time.monotonic() - started
    run = result.directory.path
    records = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    summary = result.summaries[0]
    errors = Counter(str(r["error"]).split(":")[0] for r in records if r.get("type") == "op" and r.get("error"))
    left = engine.client().api.containers(all=True, filters={"label": [f"{labels.LAB}={name}"
                                                                       for name in result.directory.meta["labs"]]})
    return {
        "flavor": flavor, "status": str(summary["status"]), "wall_s": f"{wall:.0f}",
        "operations": str(sum(r.get("type") == "op" for r in records)),
        "errors_by_errno": ", ".join(f"{k} {ERRNO_MEANING.get(k, '')} x{v}".replace("  ", " ")
                                     for k, v in sorted(errors.items())) or "none",
        "runner_crashes": str(sum(r.get("event") == "cell_failed" for r in records)),
        "faults_not_healed": str(len(faults_without_heal(records))),
        "containers_left": str(len(left)),
        "diverged": str(summary.get("diverged_after_overlap")), "lost_updates": str(summary.get("lost_updates")),
        "replication_errors": str(summary.get("replication_errors")), "results": str(run),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flavor", action="append", help="repeatable; default mariadb:10.11 and mysql:9.7")
    parser.add_argument("--results", type=Path, help="keep the results here (default: a scratch directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        rows = [soak(flavor, args.results or Path(scratch)) for flavor in args.flavor or ["mariadb:10.11", "mysql:9.7"]]
        show(rows, title=f"soak: 32 clients per DC, 60 s, partition + crash + pause + clock skew "
                         f"({time.strftime('%Y-%m-%d')})")
    bad = [r for r in rows if r["status"] != "completed" or r["runner_crashes"] != "0"
           or r["faults_not_healed"] != "0" or r["containers_left"] != "0"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
