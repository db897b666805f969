"""Sustained guarded-update rate per DC (capacity, closed loop), write latency and the driver's CPU share, on
2-DC active-active or on any replication design.

Target (issue 4): at least 1,000 guarded updates/s per DC without the driver being the bottleneck.
Closed loop: every client issues its next read-modify-write as soon as the previous one returns; the first
two DCs of the topology write, both on keys drawn from all 10,000 rows (so two DCs rarely meet on a row, and
what certification (or semi-sync) costs shows as rate and latency; bench_driver_ceiling.py splits the keys).
`--designs` measures every design of the comparison (async, semi-sync, group multi-primary, Galera), each next
to async on the same flavor.
Usage: .venv/bin/python benchmarks/bench_traffic.py [--flavor mariadb:10.11] [--clients 4] [--seconds 10]
       .venv/bin/python benchmarks/bench_traffic.py --designs [--seconds 8]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from lab.cli.tables import show
from lab.client import AppClock, Client
from lab.db import topology
from lab.db.lab import Lab
from lab.history import History
from lab.runner.driver import TrafficDriver
from lab.verdicts.counts import percentile
from lab.workloads.guards import guard
from lab.workloads.plan import TrafficSpec, plan
from lab.workloads.users import Users, UserSettings


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


DESIGNS = (("active-active", "mysql:9.7"), ("active-active-semisync", "mysql:9.7"),
           ("group-multi-primary", "mysql:9.7"), ("active-active", "mariadb:10.11"),
           ("active-active-semisync", "mariadb:10.11"), ("galera-3", "mariadb:10.11"))


def measure(flavor: str, clients: int, seconds: float, binlog_format: str,
            topology_name: str = "active-active") -> dict[str, str]:
    resolved = topology.load(topology.find(topology_name), flavor=flavor, binlog_format=binlog_format)
    rows = 10_000
    users = Users(UserSettings(rows=rows, initial_version=1), {"guard": "strict"})
    with Lab.up(resolved, name="bench-traffic") as lab:
        first, second = list(lab.topology.dcs)[:2]
        with lab.primary("dc1").connect() as connection, connection.cursor() as cursor:
            cursor.execute(users.tables()[0].create)
            for statement, batch in users.seed_statements(AppClock()):
                cursor.executemany(statement, batch)
        lab.catch_up()
        # Both DCs at full share for the whole run, on keys drawn from every row.
        spec = TrafficSpec.model_validate({
            "rows": rows, "duration": seconds, "rate": 100_000, "closed_loop": True, "clients_per_dc": clients,
            "shift": {"from": first, "to": second, "start": 0, "overlap": seconds * 2},
        })
        history = History(None, "bench")
        history.start_cell("bench", {})
        def make(dc: str, client_id: str) -> Client:
            return Client(dc=dc, server=lab.primary(dc), client_id=client_id, guard=guard("strict"), history=history)

        driver = TrafficDriver(plan(spec, 1), make, users.execute, closed_loop=True)
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        driver.start()
        time.sleep(seconds)
        driver.halt()
        wall, cpu = time.monotonic() - wall0, cpu_seconds() - cpu0
        attempted = [op for op in history.operations() if op["kind"] == "update"]
        updates = [op for op in attempted if not op["error"]]
        per_dc = {dc: sum(op["dc"] == dc for op in updates) / wall for dc in (first, second)}
        applied = sum((op["rows_affected"] or 0) > 0 for op in updates)
        latency = sorted((float(op["end"]) - float(op["start"])) * 1000 for op in updates)
        failed = len(attempted) - len(updates)
        caught = lab.catch_up(timeout=120)
        design = lab.design.label
    return {
        "design": design, "topology": topology_name, "flavor": flavor, "format": binlog_format,
        "clients_per_dc": str(clients),
        "updates_per_s_dc1": f"{per_dc[first]:.0f}", "updates_per_s_dc2": f"{per_dc[second]:.0f}",
        "write_ms_p50": f"{percentile(latency, 50):.1f}" if latency else "",
        "write_ms_p99": f"{percentile(latency, 99):.1f}" if latency else "",
        "failed_writes": str(failed),
        "applied_share": f"{applied / max(1, len(updates)):.2f}",
        "driver_cpu_cores": f"{cpu / wall:.2f} of {os.cpu_count()}",
        "catch_up_after_s": f"{caught.seconds:.1f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flavor", action="append")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--binlog-format", default="ROW")
    parser.add_argument("--designs", action="store_true",
                        help="every design of the comparison, each next to async active-active on its flavor")
    args = parser.parse_args()
    cases = DESIGNS if args.designs else [("active-active", f) for f in (args.flavor or ["mariadb:10.11",
                                                                                          "mysql:9.7"])]
    rows = [measure(flavor, args.clients, args.seconds, args.binlog_format, name) for name, flavor in cases]
    baseline = {row["flavor"]: row for row in rows if row["topology"] == "active-active"}
    for row in rows:
        base = baseline.get(row["flavor"])
        total = float(row["updates_per_s_dc1"]) + float(row["updates_per_s_dc2"])
        base_total = float(base["updates_per_s_dc1"]) + float(base["updates_per_s_dc2"]) if base else 0.0
        row["rate_vs_async"] = f"{total / base_total:.2f}x" if base_total else ""
    show(rows, title=f"closed-loop guarded read-modify-write ({time.strftime('%Y-%m-%d')}, target >= 1000/s per DC)")


if __name__ == "__main__":
    main()
