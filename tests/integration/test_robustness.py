"""The lab itself under mistakes, faults and concurrency, on real servers: every failure has a defined outcome.

- `lab check` with a wrong or missing password, a missing table, schemas that differ, or a connection
  killed in the middle: exit 2 and one line naming the DC, never a traceback and never "in sync";
- `lab down --all` while a run starts its labs, two runs on one engine, `up` of a name already up;
- `kill -9` during `lab run`, then `lab run --resume`: the recorded cells stay byte for byte, the rest run.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from lab.db import engine, labels
from lab.db.lab import Lab

ROOT = Path(__file__).resolve().parents[2]
SELECTION = "mode=deterministic,version_order=dc1_newer,topology=active-active,binlog_format=STATEMENT|ROW"


def lab_command(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, lines
    return lines[0]


def run_labs_left(run_dir: Path) -> list[dict]:
    """Containers still up of the labs a run noted in run.json (every run here starts at least one)."""
    names = json.loads((run_dir / "run.json").read_text())["labs"]
    assert names, f"{run_dir}: the run noted no lab it started"
    api = engine.client().api
    return [c for name in names for c in api.containers(all=True, filters={"label": [f"{labels.LAB}={name}"]})]


# --- the checker's failures ----------------------------------------------------------------------
@pytest.fixture
def pair(lab_pool: Any) -> Lab:
    lab = lab_pool.get("active-active", "mariadb:10.11", "ROW")
    lab.primary("dc1").execute("CREATE TABLE lab.t (id INT PRIMARY KEY, v VARCHAR(20))",
                               "INSERT INTO lab.t VALUES (1, '10'), (2, '20')")
    assert lab.catch_up().caught_up
    return lab


def urls(lab: Lab) -> list[str]:
    return [f"--dc={dc}=mysql://{ep.user}@{ep.host}:{ep.port}/lab"
            for dc, ep in ((dc, lab.primary(dc).endpoint) for dc in ("dc1", "dc2"))]


def test_check_with_a_wrong_or_missing_password_is_exit_2(pair: Lab) -> None:
    for env in ({"LAB_CHECK_PASSWORD": "not-the-password"}, {"LAB_CHECK_PASSWORD_DC2": "wrong",
                                                             "LAB_CHECK_PASSWORD_DC1": pair.credentials.admin_password},
                {}):
        line = one_line_error(lab_command("check", *urls(pair), "--table", "t", env=env))
        assert "cannot connect" in line and ("dc1" in line or "dc2" in line), line


def test_check_of_a_missing_table_or_of_schemas_that_differ_is_exit_2(pair: Lab) -> None:
    line = one_line_error(lab_command("check", "--lab", pair.name, "--table", "no_such_table"))
    assert "no_such_table" in line
    pair.primary("dc2").execute("SET SESSION sql_log_bin = 0", "ALTER TABLE lab.t MODIFY v INT")
    line = one_line_error(lab_command("check", "--lab", pair.name, "--table", "t"))
    assert "column v is int on dc2 but varchar on dc1" in line
    pair.primary("dc2").execute("SET SESSION sql_log_bin = 0", "ALTER TABLE lab.t DROP COLUMN v")
    line = one_line_error(lab_command("check", "--lab", pair.name, "--table", "t"))
    assert "differs in columns on dc2" in line and "missing v" in line


def test_a_check_whose_connection_dies_midway_is_exit_2_not_a_verdict(pair: Lab) -> None:
    dc1 = pair.primary("dc1")
    dc1.execute("CREATE TABLE lab.big (id INT PRIMARY KEY, v VARCHAR(64))")
    with dc1.connect() as connection, connection.cursor() as cursor:
        for start in range(0, 200_000, 20_000):
            cursor.executemany("INSERT INTO lab.big VALUES (%s, %s)",  # one multi-row INSERT per batch
                               [(i, hashlib.sha256(str(i).encode()).hexdigest())
                                for i in range(start + 1, start + 20_001)])
    assert pair.catch_up(timeout=120).caught_up
    killed: list[int] = []

    def kill_the_checker() -> None:  # the checker's session on dc2, as soon as it shows up
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not killed:
            for row in pair.primary("dc2").query("SELECT id FROM information_schema.processlist "
                                                 "WHERE info LIKE '%lab`.`big%' AND id <> CONNECTION_ID()"):
                pair.primary("dc2").execute(f"KILL {int(row['id'])}")
                killed.append(int(row["id"]))
            time.sleep(0.01)

    killer = threading.Thread(target=kill_the_checker)
    killer.start()
    result = lab_command("check", "--lab", pair.name, "--table", "big", "--chunk-time", "0.05")
    killer.join()
    assert killed, "the check ended before its session could be killed"
    line = one_line_error(result)
    assert "dc2" in line and "in sync" not in line


# --- concurrent lab commands ---------------------------------------------------------------------
def test_up_of_a_name_that_is_up_says_so_and_leaves_that_lab_alone(tmp_path: Path) -> None:
    first = lab_command("up", "topologies/active-passive.yaml", "--flavor", "mariadb:10.11", "--lab", "t-twice")
    try:
        assert first.returncode == 0, first.stderr
        line = one_line_error(lab_command("up", "topologies/active-active.yaml", "--flavor", "mariadb:10.11",
                                          "--lab", "t-twice"))
        assert "already up" in line and "--lab t-twice" in line
        assert lab_command("status", "--lab", "t-twice").returncode == 0  # the first lab still answers
    finally:
        assert lab_command("down", "--lab", "t-twice").returncode == 0


def test_two_runs_on_one_engine_both_complete(tmp_path: Path) -> None:
    runs = [subprocess.Popen([sys.executable, "-m", "lab", "run", "experiments/wix-incident.yaml", "--only",
                              f"{SELECTION},flavor=mariadb:10.11", "--results", str(tmp_path / f"r{i}"),
                              "--no-plots"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (_out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
    for run_dir in (next((tmp_path / f"r{i}").iterdir()) for i in range(2)):
        assert json.loads((run_dir / "run.json").read_text())["cells_done"] == 6
        assert not run_labs_left(run_dir)


def test_down_all_while_a_run_starts_its_labs_ends_both_with_a_defined_outcome(tmp_path: Path) -> None:
    run = subprocess.Popen([sys.executable, "-m", "lab", "run", "experiments/wix-incident.yaml", "--only",
                            f"{SELECTION},flavor=mariadb:10.11", "--results", str(tmp_path), "--no-plots"],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    api = engine.client().api
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not api.containers(all=True, filters={"label": [f"{labels.MANAGED}=true",
                                                                                           "io.mysqllab.server"]}):
        time.sleep(0.02)  # the run is creating its containers
    down = lab_command("down", "--all")
    _out, err = run.communicate(timeout=600)
    assert down.returncode == 0 and "Traceback" not in down.stderr, down.stderr
    assert run.returncode in (0, 3) and "Traceback" not in err, err
    assert not run_labs_left(next(tmp_path.iterdir()))


# --- kill -9 and --resume --------------------------------------------------------------------------
def digests(run_dir: Path) -> dict[str, str]:
    return {str(path.relative_to(run_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted((run_dir / "cells").rglob("*")) if path.is_file()}


def cell_under_way(run_dir: Path) -> bool:
    """A cell has started in the history (its lab is up) and is not recorded in cells.csv yet."""
    recorded = {line.split(",")[0] for line in (run_dir / "cells.csv").read_text().splitlines()[1:]}
    for line in (run_dir / "history.jsonl").read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:   # a line still being written
            continue
        if record.get("type") == "cell" and record.get("event") == "start" and record.get("cell") not in recorded:
            return True
    return False


def kill_mid_cell(run: subprocess.Popen, run_dir: Path, deadline: float) -> bool:
    """SIGKILL `run` once a cell is under way; returns whether one still was when it died (from its files)."""
    while time.monotonic() < deadline and run.poll() is None and not cell_under_way(run_dir):
        time.sleep(0.02)   # into the next cell, not between two
    time.sleep(0.1)
    run.kill()
    run.communicate()
    return cell_under_way(run_dir)


def test_kill_9_then_resume_keeps_every_recorded_cell_and_completes_the_run(tmp_path: Path) -> None:
    run = subprocess.Popen([sys.executable, "-m", "lab", "run", "experiments/wix-incident.yaml", "--only",
                            f"{SELECTION},flavor=mariadb:10.11", "--results", str(tmp_path), "--no-plots"],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    run_dir = None
    while time.monotonic() < deadline:
        found = list(tmp_path.iterdir())
        if found and (found[0] / "cells.csv").exists() and \
                len((found[0] / "cells.csv").read_text().splitlines()) >= 3:   # two cells recorded
            run_dir = found[0]
            break
        time.sleep(0.05)
    assert run_dir is not None, "the run recorded no cell in time"
    for _attempt in range(3):   # a kill can land between two cells (a cell takes ~0.3 s): then resume, kill again
        if kill_mid_cell(run, run_dir, deadline):
            break
        run = subprocess.Popen([sys.executable, "-m", "lab", "run", "--resume", str(run_dir), "--no-plots"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert cell_under_way(run_dir), "no kill of three landed inside a cell"
    recorded = json.loads((run_dir / "run.json").read_text())["cells_done"]
    listed = (run_dir / "cells.csv").read_text().splitlines()[1:]
    recorded_cells = {line.split(",")[0] for line in listed}
    before = {name: value for name, value in digests(run_dir).items() if name.split("/")[0] in recorded_cells}
    resumed = lab_command("run", "--resume", str(run_dir), "--no-plots", timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["completed"] and meta["cells_done"] == meta["cells_planned"] == 6 and recorded >= 2
    after = digests(run_dir)
    assert {name: after.get(name) for name in before} == before     # the recorded cells, byte for byte
    for line in (run_dir / "history.jsonl").read_text().splitlines():
        json.loads(line)                                             # one valid history
    cells = [json.loads(p.read_text()) for p in run_dir.glob("cells/*/summary.json")]
    assert sorted(c["cell"] for c in cells) == sorted({c["cell"] for c in cells}) and len(cells) == 6
    assert any(c.get("rerun_after_interrupt") for c in cells)        # the cell cut short ran again, marked
    assert not run_labs_left(run_dir)


def test_with_no_engine_a_run_is_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    line = one_line_error(lab_command("run", "experiments/wix-incident.yaml", "--only", "guard=strict",
                                      "--results", str(tmp_path / "results"),
                                      env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"}))
    assert "no Docker engine" in line and not (tmp_path / "results").exists()


def test_with_no_engine_validate_and_dry_run_still_check_everything(tmp_path: Path) -> None:
    no_engine = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    done = lab_command("validate", "wix-incident", "partition-during-shift", "active-active", env=no_engine)
    assert done.returncode == 0 and done.stdout.count("ok: ") == 3, done.stderr
    done = lab_command("run", "partition-during-shift", "--dry-run", "--results", str(tmp_path / "r"), env=no_engine)
    assert done.returncode == 0 and "8 cell(s) would run" in done.stdout and not (tmp_path / "r").exists()
    line = one_line_error(lab_command("run", "tests/unit/bad_experiments/fault_probability_typo.yaml", "--dry-run",
                                      env=no_engine))
    assert "probabilty" in line


# --- --jobs N under SIGTERM ---------------------------------------------------------------------------
def test_sigterm_to_a_jobs_run_stops_every_job_and_each_resumes_into_the_whole_run(tmp_path: Path) -> None:
    run = subprocess.Popen([sys.executable, "-m", "lab", "run", "experiments/wix-incident.yaml", "--only",
                            f"{SELECTION},flavor=mariadb:10.11", "--jobs", "2", "--results", str(tmp_path),
                            "--no-plots"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:   # each job has recorded a cell of its 3
        shards = sorted(tmp_path.glob(".jobs-*/*/cells.csv"))
        if len(shards) == 2 and all(len(p.read_text().splitlines()) >= 2 for p in shards):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the jobs recorded no cell in time")
    run.send_signal(signal.SIGTERM)
    _out, err = run.communicate(timeout=300)
    assert run.returncode == 130 and "Traceback" not in err, err
    assert "lab run --resume DIR" in err
    shards = sorted(p.parent for p in tmp_path.glob(".jobs-*/*/cells.csv"))
    assert len(shards) == 2 and not [p for p in tmp_path.iterdir() if not p.name.startswith(".jobs-")]
    for shard in shards:
        assert not run_labs_left(shard)
        assert lab_command("run", "--resume", str(shard), "--no-plots", timeout=600).returncode == 0
    merged = lab_command("report", *map(str, shards), "--merged", str(tmp_path / "merged"))
    assert merged.returncode == 0, merged.stderr
    meta = json.loads((tmp_path / "merged" / "run.json").read_text())
    assert meta["completed"] and meta["cells_done"] == 6
