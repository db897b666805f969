"""Seconds from nothing to a running replication design, all members in sync: a three-member Group Replication
group and a three-node Galera cluster, next to the two-DC asynchronous pair measured in the same run.

Why this exists: a design comparison runs one lab per design, so what it costs to start each one decides
how long a comparison takes. A group needs its members up, one bootstrap and two joins (each member
recovering from a donor); a Galera cluster needs a founder and two nodes joining by state transfer. The
lab starts the servers in parallel from seeded images either way; the figure shows what forming adds.
End point: `Lab.up` returned, which means every member ONLINE (group) or Synced in a Primary component
(Galera), nothing queued, the same transactions applied everywhere; for the pair, both links caught up.

    .venv/bin/python benchmarks/bench_designs.py               # 3 runs of each
    .venv/bin/python benchmarks/bench_designs.py --repeat 5

It prints figures and ratios to the asynchronous baseline and the target; it never fails on time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_startup import context_line  # noqa: E402  (the same busy-machine warning as the startup benchmark)

from lab.db import cleanup, topology  # noqa: E402
from lab.db.lab import Lab  # noqa: E402

TARGET_S = 10.0
CASES = (   # (label, topology, flavor); the first is the baseline
    ("2-DC async (baseline)", "active-active", "mysql:9.7"),
    ("group, 3 members", "group-multi-primary", "mysql:9.7"),
    ("2-DC async (baseline)", "active-active", "mariadb:10.11"),
    ("galera, 3 nodes", "galera-3", "mariadb:10.11"),
)


def start_once(topology_name: str, flavor: str, index: int) -> dict[str, float]:
    resolved = topology.load(topology.find(topology_name), flavor=flavor)
    name = f"bench-design-{index}"
    cleanup.remove_lab(name)
    began = time.monotonic()
    lab = Lab.up(resolved, name=name)
    total = time.monotonic() - began
    try:
        return {"total": total, "servers": lab.timings.get("servers_ready", float("nan")),
                "formed": total - lab.timings.get("servers_ready", 0.0)}
    finally:
        lab.down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="starts of each design (median reported)")
    args = parser.parse_args()
    for _, name, flavor in CASES:   # images built and seeded before any clock runs
        Lab.prepare_images(topology.load(topology.find(name), flavor=flavor), print)
    print(context_line())
    print(f"{'design':26} {'flavor':15} {'median s':>9} {'servers s':>10} {'forming s':>10} {'vs async':>9} "
          f"{'target':>8}")
    baseline: dict[str, float] = {}
    for index, (label, name, flavor) in enumerate(CASES):
        runs = [start_once(name, flavor, index * 100 + n) for n in range(args.repeat)]
        median = statistics.median(r["total"] for r in runs)
        servers = statistics.median(r["servers"] for r in runs)
        formed = statistics.median(r["formed"] for r in runs)
        baseline.setdefault(flavor, median)
        ratio = median / baseline[flavor]
        verdict = "" if name.startswith("active") else ("met" if median <= TARGET_S
                                                         else f"missed by {median - TARGET_S:.1f}s")
        print(f"{label:26} {flavor:15} {median:9.2f} {servers:10.2f} {formed:10.2f} {ratio:8.2f}x {verdict:>8}")
    print(context_line())


if __name__ == "__main__":
    main()
