"""Seconds from nothing to "2-DC active-active, replicating and caught up": the lab vs. the plain path.

Why this exists: the lab's start-up speed comes from two choices, a datadir initialized once per
image and copied (a seeded image), and starting every server in parallel. This script measures
the lab end to end and, in the same run on the same image, the path most projects take instead:
testcontainers' `MySqlContainer`, each container running `--initialize` itself, started one after
the other. Both paths end at the same point: both links running and every write applied
(the lab's own catch-up check, used for both).

    .venv/bin/python benchmarks/bench_startup.py                      # mysql:9.7 and mariadb:10.11, 3 runs each
    .venv/bin/python benchmarks/bench_startup.py --flavors mariadb:10.11 --repeat 5 --no-baseline

It is a script, not a test: figures depend on the machine and on what else runs on the engine.
Everything it creates is labelled (io.mysqllab.managed=true) and removed, even on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# testcontainers reads these at import time; see ../shared/notes/environment.md for why each is needed.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # the reaper image cannot be pulled here
os.environ.setdefault("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")  # /.dockerenv misleads it otherwise
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
# testcontainers polls logs once a second by default, which would add up to 1 s per container to the
# baseline; poll like the lab does so the comparison measures start-up work, not polling. The start
# timeout is max_tries * interval, so keep it at 120 s.
os.environ.setdefault("TC_POOLING_INTERVAL", "0.05")
os.environ.setdefault("TC_MAX_TRIES", str(int(120 / float(os.environ["TC_POOLING_INTERVAL"]))))

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab.db import cleanup, labels, topology  # noqa: E402
from lab.db import server as srv  # noqa: E402
from lab.db.credentials import Credentials  # noqa: E402
from lab.db.engine import client  # noqa: E402
from lab.db.images import resolve as image_resolve  # noqa: E402
from lab.db.images import seed  # noqa: E402
from lab.db.images.seed import SEED_FORMAT, SeededImage, seeded  # noqa: E402
from lab.db.images.spec import parse_flavor  # noqa: E402
from lab.db.lab import Lab  # noqa: E402
from lab.db.replication import Link, catch_up, wire  # noqa: E402
from lab.db.server import Server  # noqa: E402
from lab.db.sql import Endpoint  # noqa: E402

TOPOLOGY_FILE = REPO / "topologies" / "active-active.yaml"
TARGETS = {"mysql": 3.0, "mariadb": 1.5}
READY_PATTERN = r"(mysqld|mariadbd): ready for connections"

# The baseline's entrypoint: what a plain container does on every start. Initialize an empty datadir
# (the same options the lab's seed uses, so only "once per image" vs "per container" differs), write
# the init file with the users, then exec the server with exactly the lab's command line.
BASELINE_SCRIPT = seed.INIT_SCRIPT + r"""
printf '%s\n' "$INIT_SQL" > /lab/init.sql
chown mysql:mysql /lab/init.sql
exec "$BINARY" "$@"
"""


@dataclass
class Series:
    """Timings of one path for one flavor."""

    seconds: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def seed_exists(base_image: str) -> bool:
    """Is the seeded datadir image already cached? (Then no run of the lab pays for `--initialize`.)"""
    base_id = client().images.get(base_image).id
    found = client().images.list(filters={"label": [f"{labels.SEED_OF}={base_id}",
                                                    f"{labels.SEED_FORMAT}={SEED_FORMAT}"]})
    return bool(found)


def run_lab(flavor: str, name: str) -> tuple[float, dict[str, float]]:
    """Time Lab.up from nothing to caught up; verify both links run; always remove the lab."""
    cleanup.remove_lab(name)
    resolved = topology.load(TOPOLOGY_FILE, flavor=flavor)
    started = time.monotonic()
    lab = Lab.up(resolved, name=name)
    elapsed = time.monotonic() - started
    try:
        statuses = lab.link_statuses()
        broken = [f"{link.source}->{link.replica}" for link, status in statuses if not (status and status.running)]
        if broken:
            raise RuntimeError(f"lab {name}: links not running after up: {', '.join(broken)}")
        return elapsed, dict(lab.timings)
    finally:
        lab.down()


def _mysql_container_class() -> type:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            from testcontainers.community.mysql import MySqlContainer
        except ImportError:  # testcontainers < 4.14 has it here only
            from testcontainers.mysql import MySqlContainer
    return MySqlContainer


def run_baseline(flavor: str, image: SeededImage, name: str) -> float:
    """Time the plain path: MySqlContainer per server, `--initialize` in each, one after the other, then wire."""
    from testcontainers.core.network import Network

    mysql_container = _mysql_container_class()
    resolved = topology.load(TOPOLOGY_FILE, flavor=flavor)
    credentials = Credentials.generate()
    lab_labels = labels.for_lab(name)
    containers = []
    network = Network(docker_network_kw={"labels": lab_labels})
    cleanup.remove_lab(name)
    started = time.monotonic()
    try:
        network.create()
        servers: dict[str, Server] = {}
        for spec in resolved.servers.values():  # one after the other, as a plain fixture would
            container = (
                mysql_container(image.base_image, wait_strategy_check_string=READY_PATTERN)
                .with_network(network)
                .with_network_aliases(spec.name)
                .with_env("FAMILY", image.dialect.name)
                .with_env("BINARY", image.binary)
                .with_env("INIT_SQL", credentials.init_sql(srv.SCHEMA))
                .with_command(srv.command_line(spec, image, gtid_domain=spec.server_id))
                .with_kwargs(entrypoint=["sh", "-c", BASELINE_SCRIPT, "baseline"], user="root",
                             labels={**lab_labels, labels.SERVER: spec.name})
            )
            container.ports["3306"] = ("127.0.0.1", None)  # publish on loopback only, like the lab
            containers.append(container)
            container.start()
            endpoint = Endpoint("127.0.0.1", int(container.get_exposed_port(3306)), credentials.admin_user,
                                credentials.admin_password, srv.SCHEMA)
            wrapped = container.get_wrapped_container()
            dialect = srv.wait_ready(wrapped, endpoint)  # the log line comes before the init file is done
            servers[spec.name] = Server(spec.name, spec.dc, spec.role, spec.server_id, wrapped, endpoint, dialect,
                                        spec)
        for link in resolved.links:
            wire(servers[link.source], servers[link.replica], link, credentials.replication_user,
                 credentials.replication_password, use_gtid=resolved.servers[link.replica].gtid)
        result = catch_up([Link(servers[link.source], servers[link.replica], resolved.servers[link.replica].gtid)
                           for link in resolved.links], timeout=60)
        elapsed = time.monotonic() - started
        if not result.caught_up:
            raise RuntimeError(f"baseline {name}: {result.summary()}")
        return elapsed
    finally:
        for container in containers:
            with contextlib.suppress(Exception):  # best effort; the label sweep below catches the rest
                container.stop()
        cleanup.remove_lab(name)


def context_line() -> str:
    """What else loads the machine: start-up times on 2 cores swing by 3x when other servers are busy."""
    load1, _, _ = os.getloadavg()
    cores = os.cpu_count() or 1
    others = len(client().containers.list())
    line = f"machine: {cores} cores, load average {load1:.2f}, {others} other running container(s)"
    if load1 > cores / 2:
        line += "  -- WARNING: busy machine, figures will be inflated"
    return line


def measure(label: str, repeat: int, once: Callable[[int], float], series: Series) -> None:
    for index in range(repeat):
        seconds = once(index)
        series.seconds.append(seconds)
        print(f"  {label} run {index + 1}/{repeat}: {seconds:.2f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flavors", default="mysql:9.7,mariadb:10.11", help="comma-separated FAMILY:VERSION")
    parser.add_argument("--repeat", type=int, default=3, help="runs per path and flavor (default 3)")
    parser.add_argument("--no-baseline", action="store_true", help="only time the lab")
    parser.add_argument("--name-prefix", default="bx-bench", help="prefix of the labs created (default bx-bench)")
    args = parser.parse_args(argv)

    rows = []
    print(context_line(), flush=True)
    with cleanup.sigterm_as_interrupt():
        for flavor in [f.strip() for f in args.flavors.split(",") if f.strip()]:
            family = parse_flavor(flavor).family or ""
            slug = flavor.replace(":", "").replace(".", "")
            base = image_resolve.resolve(parse_flavor(flavor), progress=lambda m: print(f"  {m}", flush=True))
            cached = seed_exists(base)
            print(f"{flavor}: image {base}; seeded datadir image {'cached' if cached else 'NOT cached'}", flush=True)
            lab_series = Series()
            phases: list[dict[str, float]] = []

            def lab_once(index: int, flavor: str = flavor, slug: str = slug, phases: list = phases) -> float:
                seconds, timings = run_lab(flavor, f"{args.name_prefix}-{slug}-{index}")
                phases.append(timings)
                return seconds

            measure("lab", args.repeat, lab_once, lab_series)
            if not cached:
                lab_series.notes.append("run 1 included seeding (initialize once, commit)")
            image = seeded(base)
            base_series = Series()
            if not args.no_baseline:
                measure("testcontainers", args.repeat,
                        lambda index, flavor=flavor, image=image, slug=slug:
                        run_baseline(flavor, image, f"{args.name_prefix}-tc-{slug}-{index}"),
                        base_series)
            phase_text = ", ".join(f"{key} {statistics.median(p[key] for p in phases):.2f}"
                                   for key in ("images", "servers_ready", "caught_up") if all(key in p for p in phases))
            rows.append((flavor, image.dialect.label, lab_series, base_series, TARGETS.get(family), phase_text))

    print()
    print(context_line())
    print(f"2-DC active-active ({TOPOLOGY_FILE.name}), nothing -> replicating and caught up; seconds, "
          f"{args.repeat} run(s) each")
    header = (f"{'flavor':<15}{'server':<17}{'lab min':>8}{'lab med':>8}{'tc min':>8}{'tc med':>8}"
              f"{'tc/lab':>8}{'target':>8}  verdict")
    print(header)
    print("-" * len(header))
    for flavor, server, lab_series, base_series, target, _ in rows:
        tc_min = f"{base_series.best:.2f}" if base_series.seconds else "-"
        tc_med = f"{base_series.median:.2f}" if base_series.seconds else "-"
        ratio = f"{base_series.median / lab_series.median:.1f}x" if base_series.seconds else "-"
        target_text = f"<={target:.1f}" if target else "-"
        verdict = "-" if target is None else ("meets target" if lab_series.median <= target else "MISSES target")
        print(f"{flavor:<15}{server:<17}{lab_series.best:>8.2f}{lab_series.median:>8.2f}{tc_min:>8}{tc_med:>8}"
              f"{ratio:>8}{target_text:>8}  {verdict} (median)")
    print()
    for flavor, _, lab_series, _, _, phase_text in rows:
        notes = "; ".join(lab_series.notes) or "seeded image was cached before run 1"
        print(f"{flavor}: lab phases (median, cumulative s): {phase_text}; {notes}")
    print("lab = lab.db.Lab.up: seeded datadir copied per server, servers started in parallel.")
    print("tc  = testcontainers MySqlContainer per server, --initialize(-insecure) in each, started one after the "
          "other; wired and caught up with the same lab functions; log polled every "
          f"{os.environ['TC_POOLING_INTERVAL']} s (TC_POOLING_INTERVAL).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
