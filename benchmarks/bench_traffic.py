"""Sustained guarded-update rate per DC against a 2-DC active-active topology, and the driver's CPU share.

Target (issue 4): at least 1,000 guarded updates/s per DC without the driver being the bottleneck.
Closed loop: every client issues its next read-modify-write as soon as the previous one returns.
Usage: .venv/bin/python benchmarks/bench_traffic.py [--flavor mariadb:10.11] [--clients 4] [--seconds 10]
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
from lab.workloads.guards import guard
from lab.workloads.plan import TrafficSpec, plan
from lab.workloads.users import Users, UserSettings


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(flavor: str, clients: int, seconds: float, binlog_format: str) -> dict[str, str]:
    resolved = topology.load("topologies/active-active.yaml", flavor=flavor, binlog_format=binlog_format)
    rows = 10_000
    users = Users(UserSettings(rows=rows, initial_version=1), {"guard": "strict"})
    with Lab.up(resolved, name="bench-traffic") as lab:
        with lab.primary("dc1").connect() as connection, connection.cursor() as cursor:
            cursor.execute(users.tables()[0].create)
            for statement, batch in users.seed_statements(AppClock()):
                cursor.executemany(statement, batch)
        lab.catch_up()
        # Both DCs at full share for the whole run: half the keys each, so the rate is not bound by conflicts.
        spec = TrafficSpec.model_validate({
            "rows": rows, "duration": seconds, "rate": 100_000, "closed_loop": True, "clients_per_dc": clients,
            "shift": {"from": "dc1", "to": "dc2", "start": 0, "overlap": seconds * 2},
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
        updates = [op for op in history.operations() if op["kind"] == "update" and not op["error"]]
        per_dc = {dc: sum(op["dc"] == dc for op in updates) / wall for dc in ("dc1", "dc2")}
        applied = sum((op["rows_affected"] or 0) > 0 for op in updates)
        caught = lab.catch_up(timeout=120)
    return {
        "flavor": flavor, "format": binlog_format, "clients_per_dc": str(clients),
        "updates_per_s_dc1": f"{per_dc['dc1']:.0f}", "updates_per_s_dc2": f"{per_dc['dc2']:.0f}",
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
    args = parser.parse_args()
    rows = [measure(flavor, args.clients, args.seconds, args.binlog_format)
            for flavor in (args.flavor or ["mariadb:10.11", "mysql:9.7"])]
    show(rows, title=f"closed-loop guarded read-modify-write ({time.strftime('%Y-%m-%d')}, target >= 1000/s per DC)")


if __name__ == "__main__":
    main()
