"""Lifecycle guarantees: clean teardown, clear failures, nothing left behind on errors or signals."""

from __future__ import annotations

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
        [sys.executable, "-m", "lab", "up", str(path), "--name", "t-sigterm"],
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


def test_cli_up_status_down(tmp_path: Path, flavor: str) -> None:
    path = write_topology(tmp_path, flavor)

    def lab_cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "lab", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=180)

    upped = lab_cli("up", str(path), "--name", "t-cli", "--binlog-format", "ROW")
    try:
        assert upped.returncode == 0, upped.stderr
        status = lab_cli("status", "t-cli")
        assert status.returncode == 0, status.stderr
        link_line = next(line for line in status.stdout.splitlines() if "dc1 -> dc2" in line)
        assert link_line.count("Yes") == 2, status.stdout
        assert "ROW" in status.stdout
        from lab.db import state

        password = state.load("t-cli")["credentials"].admin_password
        assert password not in upped.stdout + upped.stderr + status.stdout + status.stderr
    finally:
        downed = lab_cli("down", "t-cli")
    assert downed.returncode == 0, downed.stderr
    assert leftovers("t-cli") == ([], [])


def test_unreachable_engine_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    result = subprocess.run([sys.executable, "-m", "lab", "doctor"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Docker engine" in lines[0] and "setup" in lines[0]
