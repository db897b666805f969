"""Time from "heal" until the replica is caught up, for each fault (issue 4).

For every fault: start it on the link dc1->dc2 (or server dc2) of a 2-DC active-active lab,
keep writing on dc1 for --hold seconds so a backlog builds, heal, then measure how long
`lab.catch_up()` takes. `heal_s` is the heal call itself (for crash/restart: start and crash
recovery until the server answers); `caught_up_s` starts when heal returns. Prints figures;
never fails on time.

Usage: .venv/bin/python benchmarks/bench_heal.py [--flavor mysql:9.7] [--hold 3] [--name-prefix bench-heal]
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.cli.tables import show
from lab.db import cleanup, topology
from lab.db.lab import Lab
from lab.faults import FaultContext, FaultSet, build
from lab.history import History

ROOT = Path(__file__).resolve().parents[1]
TABLE = "heal_bench"
PAYLOAD = "p" * 2000  # 2 KB a row: 50 rows/s is 800 kbit/s, above the bandwidth fault's limit


@dataclass
class Scenario:
    name: str
    spec: dict[str, Any]
    prepare: Callable[[Lab], None] | None = None  # e.g. break the applier before the "fault" window
    note: str = ""


def break_applier(lab: Lab) -> None:
    """A duplicate key on dc2 that dc1 will then insert: the applier stops, skip_event is the heal."""
    key = next(KEYS)
    with lab.server("dc2").connect() as connection, connection.cursor() as cursor:
        cursor.execute("SET SESSION sql_log_bin=0")
        cursor.execute(f"INSERT INTO {TABLE} VALUES ({key}, 'local')")
    lab.server("dc1").execute(f"INSERT INTO {TABLE} VALUES ({key}, 'conflict')")


SCENARIOS = [
    Scenario("stop_io", {"type": "stop_io", "link": "dc1->dc2"}),
    Scenario("stop_sql", {"type": "stop_sql", "link": "dc1->dc2"}),
    Scenario("delay 2s", {"type": "delay", "link": "dc1->dc2", "seconds": 2}),
    Scenario("idempotent", {"type": "idempotent", "link": "dc1->dc2"}, note="no backlog of its own"),
    Scenario("skip_event", {"type": "skip_event", "link": "dc1->dc2"}, prepare=break_applier,
             note="applier broken during hold; the skip is the heal"),
    Scenario("partition both", {"type": "partition", "between": ["dc1", "dc2"]},
             note="net timeout 60 s: the TCP connection survives a short cut and resumes on retransmit"),
    Scenario("partition dc1->dc2", {"type": "partition", "between": ["dc1", "dc2"], "direction": "dc1->dc2"}),
    Scenario("loss 30%", {"type": "loss", "between": ["dc1", "dc2"], "probability": 0.3}),
    Scenario("bandwidth 256kbit", {"type": "bandwidth", "between": ["dc1", "dc2"], "rate": "256kbit"}),
    Scenario("latency 200ms", {"type": "latency", "between": ["dc1", "dc2"], "delay_ms": 200}),
    Scenario("crash dc2", {"type": "crash", "server": "dc2"}),
    Scenario("restart dc2", {"type": "restart", "server": "dc2"}),
    Scenario("pause dc2", {"type": "pause", "server": "dc2"}),
    Scenario("clock_skew dc2", {"type": "clock_skew", "dc": "dc2", "ms": 500}, note="application only"),
]
KEYS = itertools.count(1)


def write_for(lab: Lab, seconds: float, rate: float = 50.0) -> int:
    """Insert on dc1 at about `rate` rows/s for `seconds`; return how many were committed."""
    written = 0
    deadline = time.monotonic() + seconds
    with lab.server("dc1").connect() as connection, connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(f"INSERT INTO {TABLE} VALUES (%s, %s)", (next(KEYS), PAYLOAD))
            written += 1
            time.sleep(1 / rate)
    return written


def run_one(lab: Lab, scenario: Scenario, hold: float, history: History) -> dict[str, Any]:
    ctx = FaultContext(lab, history)
    fault = build(ctx, scenario.spec)
    with FaultSet(ctx) as faults:
        if scenario.prepare:
            scenario.prepare(lab)
        else:
            faults.start(fault)
        writer_result: list[int] = []
        writer = threading.Thread(target=lambda: writer_result.append(write_for(lab, hold)))
        writer.start()
        writer.join()
        healed_from = time.monotonic()
        if scenario.prepare:
            faults.start(fault)  # the skip repairs what `prepare` broke
        else:
            faults.heal(fault)
        heal_s = time.monotonic() - healed_from
    result = lab.catch_up(timeout=180)
    row = {"fault": scenario.name, "rows_during": writer_result[0] if writer_result else 0,
           "heal_s": round(heal_s, 3), "caught_up_s": round(result.seconds, 3), "caught_up": result.caught_up,
           "note": scenario.note}
    if not result.caught_up:
        row["note"] = result.summary().splitlines()[-1][:80]
        lab.reset()
        lab.server("dc1").execute(f"CREATE TABLE {TABLE} (id BIGINT PRIMARY KEY, v TEXT)")
        lab.catch_up()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flavor", action="append", help="repeatable; default mysql:9.7 and mariadb:10.11")
    parser.add_argument("--hold", type=float, default=3.0, help="seconds each fault stays on while dc1 writes")
    parser.add_argument("--repeat", type=int, default=1, help="runs per fault; the median is printed")
    parser.add_argument("--only", help="comma-separated scenario names (prefix match)")
    parser.add_argument("--name-prefix", default="bench-heal", help="prefix of the labs created")
    args = parser.parse_args()
    chosen = [s for s in SCENARIOS if not args.only or any(s.name.startswith(o) for o in args.only.split(","))]
    for flavor in args.flavor or ["mysql:9.7", "mariadb:10.11"]:
        name = f"{args.name_prefix}-{flavor.replace(':', '').replace('.', '')}"[:31]
        cleanup.remove_lab(name)
        lab = Lab.up(topology.load(ROOT / "topologies" / "active-active.yaml", flavor=flavor), name=name)
        rows = []
        try:
            lab.server("dc1").execute(f"CREATE TABLE {TABLE} (id BIGINT PRIMARY KEY, v TEXT)")
            lab.catch_up()
            history = History(None, "bench-heal")
            for scenario in chosen:
                runs = [run_one(lab, scenario, args.hold, history) for _ in range(args.repeat)]
                row = dict(runs[-1])
                for key in ("heal_s", "caught_up_s"):
                    row[key] = f"{statistics.median(r[key] for r in runs):.3f}"
                row["caught_up"] = all(r["caught_up"] for r in runs)
                rows.append(row)
        finally:
            lab.down()
        show(rows, title=f"heal -> caught up, {flavor}, active-active, hold {args.hold:g}s, median of {args.repeat} "
                         f"({platform.node()}, {os.cpu_count()} cpus, {time.strftime('%Y-%m-%d')})")


if __name__ == "__main__":
    main()
