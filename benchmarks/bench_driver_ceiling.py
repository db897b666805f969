"""Driver against the ceiling (issue 16, item 3): the lab's traffic driver next to sysbench 1.0.20 issuing the
same guarded read-modify-write, on the same servers in the same run.

Target: at every client count the driver reaches >= 0.90 of sysbench's guarded updates/s (both DCs together)
while its History writes every statement to a file, so the driver is not what limits a run.

One 2-DC active-active lab per flavor (bench-ceiling-<flavor>, ROW, 10,000 users rows). Per client count per DC,
`--rounds` rounds of the three runs below, on the same servers, each from a re-created, re-seeded table, each DC
on its own half of the keys. Each round starts with a different one of the three (`interleaved`), so the
servers' drift over a point (three 6-second runs of sysbench here, a minute apart, gave 1,450 to 2,060 updates/s per DC)
falls on every tool alike. A rate is the median over the rounds; the ratio is the driver's median over
sysbench's, with the lowest and highest ratio of one round's pair next to it (`spread`):
  sysbench  benchmarks/sysbench/guarded_update.lua, one process per DC at once, on its DC's published port;
  driver    lab.runner.driver.TrafficDriver + lab.client.Client, closed loop, strict guard, History to a file;
  no file   the same with History(None) (driver_no_file, per DC): what the file write path costs.
CPU columns are CPU seconds over wall, in cores: the driver's process, both sysbench processes
(RUSAGE_CHILDREN), both server containers (cgroup cpuacct). Clients and servers share the machine's cores,
so a client's CPU per statement is taken from the servers: that is part of what the ratio shows.

sysbench 1.0.20 (bookworm, libmariadb3 10.11) logs in to MySQL 9.7 (caching_sha2_password) without TLS, also
from an empty auth cache (libmariadb fetches the server's RSA key). --mysql-ssl=on reads client-key.pem,
client-cert.pem and cacert.pem from the working directory; without them: error 2026. PyMySQL takes TLS when
the server offers it (MySQL 9.7, with the certificates in its datadir; Debian's MariaDB 10.11 offers none),
so there sysbench gets --mysql-ssl=on and that server's own certificates: both speak the same protocol
(`tls` column). The password reaches sysbench in a 0600 --config-file, never on its command line.

Usage: .venv/bin/python benchmarks/bench_driver_ceiling.py [--flavor mysql:9.7] [--clients 4] [--seconds 6]
       [--rounds 3]
Prints a table, writes benchmarks/results/driver_ceiling-<date>.csv. Never fails on time. The title's load
average at start tells whether the machine was busy; the one at the end counts the run's own threads.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_traffic import cpu_seconds
from checker_common import interleaved

from lab.cli.tables import show
from lab.client import AppClock, Client
from lab.db import topology
from lab.db.images.seed import DATADIR
from lab.db.lab import Lab
from lab.db.server import SCHEMA, Server
from lab.history import History
from lab.runner.driver import TrafficDriver
from lab.workloads.guards import guard
from lab.workloads.plan import PlannedOp
from lab.workloads.users import Users, UserSettings

TARGET = 0.90
ROWS = 10_000
TOOLS = ("sysbench", "driver", "no file")   # the three runs of a point (see the docstring)
SYSBENCH = Path("/usr/bin/sysbench")
ROOT = Path(__file__).resolve().parents[1]
LUA = ROOT / "benchmarks" / "sysbench" / "guarded_update.lua"
RESULTS = ROOT / "benchmarks" / "results"
TLS_FILES = {"ca.pem": "cacert.pem", "client-cert.pem": "client-cert.pem", "client-key.pem": "client-key.pem"}


# --- pure: what the unit tests check ----------------------------------------------------------------
@dataclass(frozen=True)
class SysbenchRun:
    reads: int
    writes: int
    seconds: float
    ignored_errors: int

    @property
    def updates_per_s(self) -> float:
        return self.writes / self.seconds if self.seconds > 0 else 0.0


def parse_sysbench(text: str) -> SysbenchRun:
    """The counts of a `sysbench ... run` summary; one event is one read and (for a seeded key) one update."""
    def number(pattern: str) -> str:
        found = re.search(pattern, text)
        if not found:
            tail = " | ".join(text.strip().splitlines()[-3:])
            raise ValueError(f"sysbench printed no {pattern.split(':')[0].strip()!r} line: {tail}")
        return found.group(1)

    return SysbenchRun(int(number(r"\bread:\s+(\d+)")), int(number(r"\bwrite:\s+(\d+)")),
                       float(number(r"total time:\s+([\d.]+)s")), int(number(r"ignored errors:\s+(\d+)")))


def key_halves(rows: int, dcs: list[str]) -> dict[str, tuple[int, int]]:
    """Each DC's own contiguous range of keys 1..rows (first and last), so writers of two DCs never conflict."""
    size = rows // len(dcs)
    return {dc: (1 + i * size, rows if i == len(dcs) - 1 else (i + 1) * size) for i, dc in enumerate(dcs)}


def verdict(value: float | None, target: float = TARGET) -> str:
    if value is None:
        return "no ceiling"
    return "met" if value >= target else f"missed by {target - value:.2f}"


def steady_window(operations: list[dict], stopped: float) -> tuple[float, float]:
    """From the moment every client has connected and started (sysbench also counts after its threads
    connected) to the stop: the driver's rate is counted over it, from the records' own times."""
    first: dict[str, float] = {}
    for op in operations:
        first[op["client"]] = min(first.get(op["client"], float(op["start"])), float(op["start"]))
    return (max(first.values()) if first else stopped), stopped


def cores(cpu: float | None, wall: float) -> str:
    return "" if cpu is None or wall <= 0 else f"{cpu / wall:.2f} of {os.cpu_count()}"


@dataclass(frozen=True)
class RatioSummary:
    """The driver's rate against sysbench's over a point's rounds: medians, and the per-round ratios' range."""

    sysbench: float
    driver: float
    lowest: float | None
    highest: float | None

    @property
    def ratio(self) -> float | None:
        return self.driver / self.sysbench if self.sysbench > 0 else None


def summarise(sysbench: list[float], driver: list[float]) -> RatioSummary:
    """Medians of the rounds' rates (both DCs together), and the lowest and highest ratio of one round's pair."""
    ratios = [d / s for s, d in zip(sysbench, driver, strict=True) if s > 0]
    return RatioSummary(statistics.median(sysbench), statistics.median(driver),
                        min(ratios, default=None), max(ratios, default=None))


def driver_plans(halves: dict[str, tuple[int, int]], clients: int, budget: int,
                 seed: int = 1) -> dict[str, list[PlannedOp]]:
    """`budget` read-modify-writes per client, keys uniform in its DC's half (closed loop: times unused)."""
    plans: dict[str, list[PlannedOp]] = {}
    for dc, (low, high) in halves.items():
        for number in range(clients):
            client = f"{dc}-c{number}"
            rng = random.Random(f"{client}:{seed}")
            plans[client] = [PlannedOp(i, 0.0, dc, client, "rmw", rng.randint(low, high)) for i in range(budget)]
    return plans


def sysbench_command(config: Path, keys: tuple[int, int], threads: int, seconds: float) -> list[str]:
    return [str(SYSBENCH), str(LUA), f"--config-file={config}", f"--key-low={keys[0]}", f"--key-high={keys[1]}",
            f"--threads={threads}", f"--time={max(1, round(seconds))}", "--report-interval=0", "run"]


def sysbench_config(server: Server, tls: bool) -> str:
    """The --config-file lines: where and as whom to connect (holds the password: written 0600)."""
    endpoint = server.endpoint
    return "".join(f"{name}={value}\n" for name, value in (
        ("mysql-host", endpoint.host), ("mysql-port", endpoint.port), ("mysql-user", endpoint.user),
        ("mysql-password", endpoint.password), ("mysql-db", SCHEMA), ("mysql-ssl", "on" if tls else "off")))


# --- against the lab ---------------------------------------------------------------------------------
def reseed(lab: Lab, users: Users) -> None:
    """The same start for every point: the table re-created and seeded on dc1, then replicated everywhere."""
    with lab.primary("dc1").connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {users.table}")
        cursor.execute(users.tables()[0].create)
        for statement, batch in users.seed_statements(AppClock()):
            cursor.executemany(statement, batch)
    lab.catch_up(timeout=120)


def server_cpu(lab: Lab) -> float | None:
    """CPU seconds the lab's server containers used so far (cgroup v1 cpuacct or v2 cpu.stat); None if unreadable."""
    total = 0.0
    for server in lab.servers.values():
        cid = server.container.id
        v1 = Path(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage")
        v2 = Path(f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat")
        if v1.exists():
            total += int(v1.read_text()) / 1e9
        elif v2.exists():
            total += int(re.search(r"usage_usec (\d+)", v2.read_text()).group(1)) / 1e6   # type: ignore[union-attr]
        else:
            return None
    return total


def uses_tls(server: Server) -> bool:
    """Whether a session opened as the driver's clients open theirs is TLS."""
    rows = server.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
    return bool(rows and rows[0]["Value"])


def prepare_sysbench_dir(server: Server, directory: Path, tls: bool) -> Path:
    """A working directory for this DC's sysbench: its config file and, for TLS, the server's own certificates."""
    directory.mkdir(mode=0o700)
    if tls:
        for source, target in TLS_FILES.items():
            stream, _ = server.container.get_archive(f"{DATADIR}/{source}")
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
                member = archive.extractfile(source)
                assert member is not None
                (directory / target).write_bytes(member.read())
    config = directory / "sysbench.cfg"
    config.touch(mode=0o600)
    config.write_text(sysbench_config(server, tls))
    return config


@dataclass(frozen=True)
class Measured:
    """One tool at one point: guarded updates/s per DC, and CPU seconds (its own, the servers') over wall."""

    per_s: dict[str, float]
    cpu: float
    wall: float
    servers_cpu: float | None
    ran_dry: int = 0   # driver clients that used up their planned operations before the stop


def servers_since(lab: Lab, before: float | None) -> float | None:
    after = server_cpu(lab)
    return None if before is None or after is None else after - before


def run_sysbench(lab: Lab, configs: dict[str, Path], halves: dict[str, tuple[int, int]], clients: int,
                 seconds: float) -> tuple[Measured, dict[str, SysbenchRun]]:
    """One sysbench per DC at once; CPU from RUSAGE_CHILDREN (both processes together)."""
    def children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    servers0, cpu0, wall0 = server_cpu(lab), children(), time.monotonic()
    processes = {dc: subprocess.Popen(sysbench_command(config, halves[dc], clients, seconds), cwd=config.parent,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for dc, config in configs.items()}
    outputs = {dc: process.communicate(timeout=seconds + 120)[0] for dc, process in processes.items()}
    wall, cpu = time.monotonic() - wall0, children() - cpu0
    runs = {dc: parse_sysbench(text) for dc, text in outputs.items()}
    return Measured({dc: run.updates_per_s for dc, run in runs.items()}, cpu, wall,
                    servers_since(lab, servers0)), runs


def run_driver(lab: Lab, users: Users, halves: dict[str, tuple[int, int]], clients: int, seconds: float,
               budget: int, history_file: Path | None) -> Measured:
    """The lab's driver, closed loop, strict guard; its rate counted over `steady_window`."""
    history = History(history_file, "bench-ceiling")
    history.start_cell("bench", {"clients_per_dc": clients})

    def make(dc: str, client_id: str) -> Client:
        return Client(dc=dc, server=lab.primary(dc), client_id=client_id, guard=guard("strict"), history=history)

    driver = TrafficDriver(driver_plans(halves, clients, budget), make, users.execute, closed_loop=True)
    servers0, cpu0, wall0 = server_cpu(lab), cpu_seconds(), time.monotonic()
    driver.start()
    time.sleep(seconds)
    stopped = time.time()
    driver.halt()
    wall, cpu = time.monotonic() - wall0, cpu_seconds() - cpu0
    servers = servers_since(lab, servers0)
    history.close()
    operations = history.operations()
    begin, end = steady_window(operations, stopped)
    updates = [op for op in operations if op["kind"] == "update" and not op["error"] and float(op["start"]) >= begin]
    per_client: dict[str, int] = {}
    for op in updates:
        per_client[op["client"]] = per_client.get(op["client"], 0) + 1
    span = max(1e-9, end - begin)
    return Measured({dc: sum(op["dc"] == dc for op in updates) / span for dc in halves}, cpu, wall, servers,
                    sum(count >= budget for count in per_client.values()))


def pooled(runs: list[Measured]) -> Measured:
    """A tool's rounds at one point as one figure: the median rate per DC; CPU and wall summed, so its cores
    are the share over all its rounds."""
    servers = [run.servers_cpu for run in runs]
    return Measured({dc: statistics.median(run.per_s[dc] for run in runs) for dc in runs[0].per_s},
                    sum(run.cpu for run in runs), sum(run.wall for run in runs),
                    None if None in servers else sum(s for s in servers if s is not None),
                    sum(run.ran_dry for run in runs))


def measure_point(lab: Lab, users: Users, configs: dict[str, Path], halves: dict[str, tuple[int, int]],
                  clients: int, seconds: float, rounds: int, history_file: Path) -> tuple[dict[str, list[Measured]],
                                                                                          int]:
    """Every round of one client count, each round led by another tool (sysbench first in round 0: its rate
    sizes the driver's plans): per tool its Measured in round order, and sysbench's ignored errors."""
    budget, ignored = 0, 0

    def sysbench() -> tuple[float, Measured]:
        nonlocal budget, ignored
        reseed(lab, users)
        ceiling, runs = run_sysbench(lab, configs, halves, clients, seconds)
        budget = max(budget, 2000, int(3 * max(run.writes for run in runs.values()) / clients))
        ignored += sum(run.ignored_errors for run in runs.values())
        return ceiling.wall, ceiling

    def driver(to_file: Path | None) -> Callable[[], tuple[float, Measured]]:
        def run() -> tuple[float, Measured]:
            reseed(lab, users)
            measured = run_driver(lab, users, halves, clients, seconds, budget, to_file)
            history_file.unlink(missing_ok=True)
            return measured.wall, measured
        return run

    rounds_of = interleaved([sysbench, driver(history_file), driver(None)], rounds, rotate=True)
    return {tool: cast(list[Measured], results) for tool, (_, results) in zip(TOOLS, rounds_of, strict=True)}, ignored


def measure_flavor(flavor: str, client_counts: list[int], seconds: float, rounds: int,
                   binlog_format: str) -> list[dict]:
    resolved = topology.load(topology.find("active-active"), flavor=flavor, binlog_format=binlog_format)
    users = Users(UserSettings(rows=ROWS, initial_version=1), {"guard": "strict"})
    name = "bench-ceiling-" + re.sub(r"[^a-z0-9]+", "-", flavor.lower()).strip("-")
    rows: list[dict] = []
    RESULTS.mkdir(parents=True, exist_ok=True)
    with Lab.up(resolved, name=name) as lab, tempfile.TemporaryDirectory(dir=RESULTS) as scratch:
        dcs = list(lab.topology.dcs)[:2]
        halves = key_halves(ROWS, dcs)
        tls = uses_tls(lab.primary(dcs[0]))
        configs = {dc: prepare_sysbench_dir(lab.primary(dc), Path(scratch) / dc, tls) for dc in dcs}
        for clients in client_counts:   # the tools alternate on the same servers, each from a fresh table
            print(f"[ceiling] {flavor} clients/dc={clients}: {rounds} rounds of sysbench, driver, driver without "
                  "file", file=sys.stderr)
            measured, ignored = measure_point(lab, users, configs, halves, clients, seconds, rounds,
                                              Path(scratch) / "history.jsonl")
            ceiling, driver, in_memory = (pooled(measured[tool]) for tool in TOOLS)
            summary = summarise([sum(run.per_s.values()) for run in measured["sysbench"]],
                                [sum(run.per_s.values()) for run in measured["driver"]])
            value = summary.ratio
            dry = driver.ran_dry + in_memory.ran_dry
            notes = [f"{dry} driver clients ran out of planned ops"] * bool(dry) + [
                f"sysbench ignored {ignored} errors"] * bool(ignored)
            rows.append({
                "flavor": flavor, "clients_per_dc": clients, "tls": "on" if tls else "off",
                **{f"sysbench_{dc}": f"{ceiling.per_s[dc]:.0f}" for dc in dcs},
                **{f"driver_{dc}": f"{driver.per_s[dc]:.0f}" for dc in dcs},
                "ratio": "" if value is None else f"{value:.2f}",
                "spread": "" if summary.lowest is None else f"{summary.lowest:.2f}-{summary.highest:.2f}",
                "target": verdict(value),
                "driver_no_file": f"{sum(in_memory.per_s.values()) / len(dcs):.0f}",
                "driver_cpu": cores(driver.cpu, driver.wall), "sysbench_cpu": cores(ceiling.cpu, ceiling.wall),
                "servers_cpu_sb": cores(ceiling.servers_cpu, ceiling.wall),
                "servers_cpu_drv": cores(driver.servers_cpu, driver.wall),
                "note": "; ".join(notes),
            })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flavor", action="append", help="repeatable (default: mysql:9.7 and mariadb:10.11)")
    parser.add_argument("--clients", type=int, action="append", help="clients per DC, repeatable "
                                                                     "(default: 1 2 4 8 16 32)")
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds per tool, round and point")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three runs per point (median)")
    parser.add_argument("--binlog-format", default="ROW")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.exit(2, f"--rounds {args.rounds}: give 1 or more rounds per point\n")
    if args.seconds <= 0:
        parser.exit(2, f"--seconds {args.seconds:g}: give more than 0 seconds per run\n")
    if not SYSBENCH.exists():
        print(f"{SYSBENCH} is missing: run `LAB_BENCH_TOOLS=1 bash scripts/setup.sh` or `apt-get install sysbench`")
        sys.exit(2)
    load_start = os.getloadavg()[0]
    if load_start > 1.0:
        print(f"[ceiling] warning: load average {load_start:.2f} at start, the machine is busy: figures are low",
              file=sys.stderr)
    date = time.strftime("%Y-%m-%d")
    rows = [row for flavor in args.flavor or ["mysql:9.7", "mariadb:10.11"]
            for row in measure_flavor(flavor, args.clients or [1, 2, 4, 8, 16, 32], args.seconds, args.rounds,
                                         args.binlog_format)]
    load_end = os.getloadavg()[0]
    busy = " (busy at start)" if load_start > 1.0 else ""
    show(rows, title=f"driver against the ceiling: guarded updates/s per DC, median of {args.rounds} rounds of "
                     f"{args.seconds:g} s per tool and point, "
                     f"target driver/sysbench >= {TARGET:.2f} ({date}, {platform.node()}, {os.cpu_count()} cpus, "
                     f"load {load_start:.2f} -> {load_end:.2f}{busy})")
    path = RESULTS / f"driver_ceiling-{date}.csv"
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
