"""The top-level docker-compose.yml really gives two DCs replicating both ways.

The README promises hands-on exploration with compose, so this drives the same path a user
would (`compose up -d`, wait for the one-shot `wire` service, write on each side) with whatever
compose binary is installed (Debian's docker-compose 1.29 or compose v2), and always tears down.

Environment:
  LAB_COMPOSE_IMAGE    image(s) to test, comma-separated (default mysqllab/mysql:9.7)
  LAB_COMPOSE_PROJECT  compose project name prefix (default labtest-compose)
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pymysql.cursors
import pytest
from docker.models.containers import Container

from lab.db import engine, labels
from lab.db.images import offline

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
IMAGES = [i.strip() for i in os.environ.get("LAB_COMPOSE_IMAGE", "mysqllab/mysql:9.7").split(",") if i.strip()]
PROJECT_PREFIX = os.environ.get("LAB_COMPOSE_PROJECT", "labtest-compose")
UP_TIMEOUT = 300.0
WIRE_TIMEOUT = 180.0


def compose_command() -> list[str] | None:
    """`docker compose` (v2 plugin) if it works, else `docker-compose` (v1 or v2 standalone), else None."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ensure_image(image: str) -> None:
    """Use a local image; build the lab's offline images if missing; skip for anything else."""
    from docker.errors import ImageNotFound

    try:
        engine.client().images.get(image)
        return
    except ImageNotFound:
        pass
    for recipe in offline.RECIPES.values():
        if recipe.tag == image:
            offline.build(recipe)
            return
    pytest.skip(f"image {image} is not available locally and this machine may not pull it "
                f"(docker pull it, or set LAB_COMPOSE_IMAGE)")


@dataclass
class ComposeRun:
    command: list[str]
    project: str
    env: dict[str, str]
    ports: dict[str, int]
    password: str

    def run(self, *args: str, timeout: float = UP_TIMEOUT) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.command, "-f", str(COMPOSE_FILE), "-p", self.project, *args],
                              env=self.env, capture_output=True, text=True, timeout=timeout, check=False)

    def containers(self, service: str | None = None) -> list[Container]:
        wanted = [f"com.docker.compose.project={self.project}"]
        if service:
            wanted.append(f"com.docker.compose.service={service}")
        return engine.client().containers.list(all=True, filters={"label": wanted})

    def logs(self) -> str:
        return "\n".join(f"--- {c.name}\n{c.logs(tail=15).decode(errors='replace')}" for c in self.containers())

    def connect(self, dc: str) -> pymysql.connections.Connection:
        return pymysql.connect(host="127.0.0.1", port=self.ports[dc], user="root", password=self.password,
                               database="lab", autocommit=True, connect_timeout=5,
                               cursorclass=pymysql.cursors.DictCursor)


@pytest.fixture(params=IMAGES)
def compose(request: pytest.FixtureRequest) -> Iterator[ComposeRun]:
    command = compose_command()
    if command is None:
        pytest.skip("no compose binary found (apt-get install docker-compose, or install the compose v2 plugin)")
    image = request.param
    ensure_image(image)
    ports = {"dc1": free_port(), "dc2": free_port()}
    password = secrets.token_hex(12)
    project = f"{PROJECT_PREFIX}-{secrets.token_hex(3)}"
    env = {**os.environ, "LAB_IMAGE": image, "LAB_DC1_PORT": str(ports["dc1"]), "LAB_DC2_PORT": str(ports["dc2"]),
           "LAB_ROOT_PASSWORD": password, "LAB_REPL_PASSWORD": secrets.token_hex(12),
           "LAB_WIRE_TIMEOUT": str(int(WIRE_TIMEOUT))}
    env.pop("COMPOSE_PROJECT_NAME", None)
    run = ComposeRun(command, project, env, ports, password)
    try:
        up = run.run("up", "-d")
        assert up.returncode == 0, f"compose up failed:\n{up.stdout}\n{up.stderr}\n{run.logs()}"
        yield run
    finally:
        down = run.run("down", "-v", "--remove-orphans", timeout=120)
        leftovers = [c.name for c in run.containers()]
        volumes = engine.client().volumes.list(filters={"label": f"com.docker.compose.project={project}"})
        assert down.returncode == 0, f"compose down failed: {down.stderr}"
        assert not leftovers, f"containers left behind by compose down: {leftovers}"
        assert not volumes, f"volumes left behind by compose down -v: {[v.name for v in volumes]}"


def wait_for_wire(run: ComposeRun) -> None:
    """The one-shot `wire` service exits 0 once both links run; anything else fails with its logs."""
    deadline = time.monotonic() + WIRE_TIMEOUT
    while time.monotonic() < deadline:
        wire = run.containers("wire")
        if wire and wire[0].status == "exited":
            code = wire[0].attrs["State"]["ExitCode"]
            assert code == 0, f"wire exited {code}:\n{run.logs()}"
            return
        time.sleep(0.5)
    pytest.fail(f"wire did not finish within {WIRE_TIMEOUT:.0f}s:\n{run.logs()}")


def wait_for_row(run: ComposeRun, dc: str, row_id: int, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        with run.connect(dc) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT id, origin FROM t WHERE id = %s", (row_id,))
            found = cursor.fetchone()
        if found or time.monotonic() > deadline:
            assert found, f"row {row_id} never reached {dc}:\n{run.logs()}"
            return found
        time.sleep(0.2)


def replica_status(run: ComposeRun, dc: str) -> dict:
    with run.connect(dc) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW REPLICA STATUS")
        rows = cursor.fetchall()
    assert len(rows) == 1, f"{dc} should have exactly one replication channel, has {len(rows)}"
    return rows[0]


def test_compose_replicates_both_ways(compose: ComposeRun) -> None:
    wait_for_wire(compose)

    for dc, other in (("dc1", "dc2"), ("dc2", "dc1")):
        status = replica_status(compose, dc)
        io = status.get("Replica_IO_Running") or status.get("Slave_IO_Running")
        sql = status.get("Replica_SQL_Running") or status.get("Slave_SQL_Running")
        source = status.get("Source_Host") or status.get("Master_Host")
        assert (io, sql, source) == ("Yes", "Yes", other), f"{dc}: {status}"

    with compose.connect("dc1") as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE t (id INT PRIMARY KEY, origin VARCHAR(8))")
        cursor.execute("INSERT INTO t VALUES (1, 'dc1')")
    assert wait_for_row(compose, "dc2", 1) == {"id": 1, "origin": "dc1"}

    with compose.connect("dc2") as connection, connection.cursor() as cursor:
        cursor.execute("INSERT INTO t VALUES (2, 'dc2')")
    assert wait_for_row(compose, "dc1", 2) == {"id": 2, "origin": "dc2"}

    # distinct server ids, or circular replication would silently drop events
    ids = set()
    for dc in ("dc1", "dc2"):
        with compose.connect(dc) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT @@server_id AS id")
            ids.add(cursor.fetchone()["id"])
    assert ids == {1, 2}

    for container in compose.containers():
        assert container.labels.get(labels.MANAGED) == "true", container.name
        for bindings in (container.attrs["NetworkSettings"]["Ports"] or {}).values():
            for binding in bindings or []:
                assert binding["HostIp"] == "127.0.0.1", f"{container.name} publishes on {binding['HostIp']}"
