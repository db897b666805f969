"""`lab doctor` on this real host: its facts match what we measure independently here, it is quick, it leaves
nothing behind, and it still answers (with the documented exit code 1) when the engine is unreachable."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import docker
import pytest

from lab.faults.probes import PROBE_LABEL

ROOT = Path(__file__).resolve().parents[2]


def doctor(*env: tuple[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "lab", "doctor", "--json"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **dict(env)}, timeout=60)
    return done, time.monotonic() - began


def in_scratch_netns(*argv: str) -> bool:
    """Measured here, not by the lab: does this command succeed in a fresh network namespace?"""
    return subprocess.run(["unshare", "-n", *argv], capture_output=True, timeout=10).returncode == 0


def freezer_enabled() -> bool:
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        return True  # cgroup v2: freezing is built into every cgroup
    rows = [line.split() for line in Path("/proc/cgroups").read_text().splitlines()[1:]]
    return any(row[0] == "freezer" and row[3] == "1" for row in rows)


@pytest.fixture(scope="module")
def report() -> tuple[subprocess.CompletedProcess[str], float, dict[str, Any]]:
    done, took = doctor()
    return done, took, json.loads(done.stdout)


def test_host_facts_match_independent_measurements(report: tuple[Any, float, dict[str, Any]]) -> None:
    _done, _took, document = report
    host = document["host"]
    assert host["root"]["ok"] == (os.geteuid() == 0)
    for tool in ("nsenter", "iptables", "tc", "ip", "unshare"):
        assert host[tool]["ok"] == (shutil.which(tool) is not None), tool
    if os.geteuid() != 0:
        pytest.skip("the namespace measurements below need root")
    assert host["iptables_rules"]["ok"] == in_scratch_netns("iptables", "-I", "INPUT", "-s", "192.0.2.9/32", "-m",
                                                            "comment", "--comment", "t", "-j", "DROP")
    assert host["htb"]["ok"] == in_scratch_netns("tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb")
    netem = in_scratch_netns("tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "5ms")
    assert host["netem"]["ok"] == netem
    latency = document["faults"]["latency"]
    if netem:
        assert (latency["status"], latency["route"]) == ("works", "netem")
    else:  # this kernel: no sch_netem, so latency must go through the proxy
        assert (latency["status"], latency["route"]) == ("fallback", "proxy"), latency
        assert "no sch_netem" in latency["how"]
    assert host["freezer"]["ok"] == freezer_enabled()
    assert host["container_netns"]["ok"] is True and host["proxy_netns"]["ok"] is True


def test_engine_images_and_verdicts_match_the_engine(report: tuple[Any, float, dict[str, Any]]) -> None:
    done, _took, document = report
    client = docker.from_env()
    assert document["engine"]["reachable"] is True
    assert document["engine"]["server_version"] == client.version()["Version"]
    assert document["engine"]["storage_driver"] == client.info()["Driver"]
    tags = {tag for image in client.images.list() for tag in image.tags}
    assert {row["image"] for row in document["images"]} <= tags
    assert {row["flavor"] for row in document["flavors"] if row["status"] == "ready"} >= {"mysql:9.7"}
    statuses = {kind: fault["status"] for kind, fault in document["faults"].items()}
    assert {statuses[k] for k in ("partition", "isolate", "loss", "bandwidth", "crash", "pause", "hold_appliers",
                                  "clock_skew")} == {"works"}
    assert done.returncode == document["exit_code"] == 0, done.stdout[-400:] + done.stderr


def test_it_is_quick_and_leaves_no_scratch_container(report: tuple[Any, float, dict[str, Any]]) -> None:
    _done, took, document = report
    assert document["took_s"] < 3 and took < 5, (document["took_s"], took)
    client = docker.from_env()
    deadline = time.monotonic() + 10
    while client.containers.list(all=True, filters={"label": PROBE_LABEL}) and time.monotonic() < deadline:
        time.sleep(0.2)  # auto-removal of the scratch container may still be finishing
    assert not client.containers.list(all=True, filters={"label": PROBE_LABEL})


def test_with_the_engine_unreachable_it_still_answers_with_the_host_rows() -> None:
    done, took = doctor(("DOCKER_HOST", "tcp://127.0.0.1:1"))
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert document["exit_code"] == 1 and document["engine"]["reachable"] is False
    engine_fact = document["host"]["engine"]
    assert engine_fact["ok"] is False and "no engine is listening" in engine_fact["detail"]
    assert "scripts/setup.sh" in document["engine"]["fix"]
    assert document["host"]["root"]["ok"] == (os.geteuid() == 0)
    assert document["host"]["nsenter"]["ok"] == (shutil.which("nsenter") is not None)
    faults = document["faults"]
    assert faults["partition"]["status"] == "no" and "Docker engine" in faults["partition"]["how"]
    assert faults["clock_skew"]["status"] == "works"
    assert took < 5
    text = subprocess.run([sys.executable, "-m", "lab", "doctor"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "DOCKER_HOST": "tcp://127.0.0.1:1"}, timeout=60)
    assert text.returncode == 1 and "Traceback" not in text.stderr
    assert "engine down at tcp://127.0.0.1:1" in text.stdout and "Host capabilities" in text.stdout
    assert "Fault types on this host" in text.stdout


def test_in_process_json_keeps_the_keys_ci_reads(capsys: pytest.CaptureFixture[str]) -> None:
    from lab.cli import entry

    try:
        entry(["doctor", "--json"])
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and {"engine", "images", "flavors", "lab_containers", "labs"} <= set(document)
    assert isinstance(document["lab_containers"], int) and isinstance(document["labs"], list)
