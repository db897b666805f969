"""Lifecycle guarantees: clean teardown, clear failures, nothing left behind on errors or signals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.db import engine, labels, topology
from lab.db.lab import Lab
from lab.errors import LabError, ServerStartError

ROOT = Path(__file__).resolve().parents[2]


def leftovers(lab_name: str) -> tuple[list, list]:
    api = engine.client().api
    selector = {"label": [f"{labels.LAB}={lab_name}"]}
    return api.containers(all=True, filters=selector), api.networks(filters=selector)


def write_topology(tmp_path: Path, flavor: str, extra: str = "") -> Path:
    path = tmp_path / "pair.yaml"
    path.write_text(
        f"name: pair\nreplication: one-way\ndefaults: {{flavor: '{flavor}'}}\n"
        f"servers:\n  dc1: {{{extra}}}\n  dc2: {{}}\nlinks:\n  - {{source: dc1, replica: dc2}}\n"
    )
    return path


def test_down_leaves_nothing_labelled(tmp_path: Path, flavor: str) -> None:
    name = "t-down"
    lab = Lab.up(topology.load(write_topology(tmp_path, flavor)), name=name)
    containers, networks = leftovers(name)
    assert len(containers) == 2 and len(networks) == 1
    assert all(c["Labels"][labels.MANAGED] == "true" for c in containers)
    for container in containers:
        assert {p["IP"] for p in container["Ports"]} == {"127.0.0.1"}
    lab.down()
    assert leftovers(name) == ([], [])


def test_server_that_fails_to_start_shows_its_log_and_leaves_nothing(tmp_path: Path, flavor: str) -> None:
    path = write_topology(tmp_path, flavor, extra="options: {no_such_server_option: 1}")
    with pytest.raises(ServerStartError) as failure:
        Lab.up(topology.load(path), name="t-fail")
    message = str(failure.value)
    assert "no_such_server_option" in message.replace("-", "_") or "unknown" in message.lower()
    assert leftovers("t-fail") == ([], [])


def test_port_in_use_is_a_clear_error(tmp_path: Path, flavor: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        path = write_topology(tmp_path, flavor, extra=f"port: {port}")
        with pytest.raises(LabError, match=rf"servers\.dc1\.port.*{port}.*in use"):
            Lab.up(topology.load(path), name="t-port")
    assert leftovers("t-port") == ([], [])


@pytest.mark.parametrize("signals", [1, 3], ids=["one-sigterm", "repeated-sigterm"])
def test_sigterm_during_up_leaves_nothing(tmp_path: Path, flavor: str, signals: int) -> None:
    """Supervisors often signal more than once (timeout, then the shell): later signals must not abort cleanup."""
    path = write_topology(tmp_path, flavor)
    process = subprocess.Popen(
        [sys.executable, "-m", "lab", "up", str(path), "--lab", "t-sigterm"],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not leftovers("t-sigterm")[0]:
        time.sleep(0.05)  # wait until containers exist, so the signal lands mid-`up`
    for _ in range(signals):
        process.send_signal(signal.SIGTERM)
        time.sleep(0.1)
    output = process.communicate(timeout=60)[0].decode()
    assert process.returncode != 0, output
    assert leftovers("t-sigterm") == ([], []), output


def test_cli_up_status_sql_env_down(tmp_path: Path, flavor: str) -> None:
    """One way to name a lab (--lab NAME) on every command; `lab sql` runs the server's own client in its
    container; `lab env` hands other tools a 0600 option file; `lab down` is idempotent. No password is ever
    printed."""
    path = write_topology(tmp_path, flavor)

    def lab_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "lab", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=180, input=stdin)

    upped = lab_cli("up", str(path), "--lab", "t-cli", "--binlog-format", "ROW")
    try:
        assert upped.returncode == 0, upped.stderr
        status = lab_cli("status", "--lab", "t-cli")
        assert status.returncode == 0, status.stderr
        link_line = next(line for line in status.stdout.splitlines() if "dc1 -> dc2" in line)
        assert link_line.count("Yes") == 2, status.stdout
        assert "ROW" in status.stdout
        from lab.db import state
        from lab.db.lab import Lab

        password = state.load("t-cli")["credentials"].admin_password
        lab = Lab.attach("t-cli")
        dc2_id = lab.primary("dc2").query("SELECT @@server_id AS id")[0]["id"]

        shell = lab_cli("sql", "--lab", "t-cli", "dc2", "-e", "SELECT @@server_id AS id, @@hostname AS host")
        assert shell.returncode == 0, shell.stderr
        assert shell.stdout.split() == ["id", "host", str(dc2_id), "dc2"], shell.stdout
        piped = lab_cli("sql", "--lab", "t-cli", "dc1", stdin="CREATE TABLE lab.t (id INT PRIMARY KEY);\n"
                        "INSERT INTO lab.t VALUES (7);\n")
        assert piped.returncode == 0, piped.stderr
        assert lab.catch_up().caught_up
        assert lab.primary("dc2").query("SELECT id FROM t") == [{"id": 7}]   # written through the shell, replicated
        failed = lab_cli("sql", "--lab", "t-cli", "dc1", "-e", "SELECT no_such_column")
        assert failed.returncode == 1 and "1054" in failed.stderr, failed.stderr    # the client's own exit code
        unknown = lab_cli("sql", "--lab", "t-cli", "dc9")
        assert unknown.returncode == 2 and "DC 'dc9'" in unknown.stderr and "dc1, dc2" in unknown.stderr

        settings = lab_cli("env", "--lab", "t-cli", "dc2", "--json")
        assert settings.returncode == 0, settings.stderr
        facts = json.loads(settings.stdout)
        option_file = Path(facts["defaults_file"])
        assert option_file.stat().st_mode & 0o777 == 0o600
        assert facts["port"] == lab.primary("dc2").endpoint.port
        import pymysql

        with pymysql.connect(read_default_file=str(option_file)) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT @@server_id, DATABASE()")
            assert cursor.fetchone() == (dc2_id, "lab")
        exports = lab_cli("env", "--lab", "t-cli", "dc2")
        assert f"export MYSQL_TCP_PORT={facts['port']}" in exports.stdout.splitlines()
        printed = "".join(r.stdout + r.stderr for r in (upped, status, shell, piped, failed, settings, exports))
        assert password not in printed
    finally:
        downed = lab_cli("down", "--lab", "t-cli")
    assert downed.returncode == 0, downed.stderr
    assert leftovers("t-cli") == ([], [])
    assert not option_file.exists()                       # the option file goes with the lab
    again = lab_cli("down", "--lab", "t-cli")             # idempotent: a blind cleanup step
    assert again.returncode == 0 and "removed 0 container(s)" in again.stderr, again.stderr


def test_unreachable_engine_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that needs the engine says so in one line (`lab doctor` answers anyway: tests/integration/
    test_doctor_host.py)."""
    result = subprocess.run([sys.executable, "-m", "lab", "status", "--lab", "t-no-engine"], cwd=ROOT,
                            capture_output=True, text=True,
                            env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Docker engine" in lines[0] and "setup" in lines[0]
