"""Every fault against real servers: it really happens, and healing really undoes it.

Timing is only ever checked as a measurable effect (e.g. injected latency adds at least half
of itself); no test asserts an experiment outcome.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymysql
import pytest

from lab.db.dialects import LinkStatus
from lab.db.lab import Lab
from lab.db.replication import link_status
from lab.db.server import Server
from lab.faults import (
    Crash,
    ExecMode,
    FaultContext,
    FaultSet,
    HoldAppliers,
    Latency,
    Partition,
    Pause,
    SkipEvent,
    StopThread,
    build,
    sweep,
)
from lab.faults.iptables import TAG_PREFIX
from lab.faults.netns import of as netns_of
from lab.history import History

ROOT = Path(__file__).resolve().parents[2]
TABLE = "fault_t"


# --- helpers ----------------------------------------------------------------------------------

def wait_for(what: str, probe: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll until `probe()` is truthy; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {value!r})")
        time.sleep(interval)


def status(server: Server) -> LinkStatus:
    found = link_status(server)
    assert found is not None, f"{server.name} has no replication configured"
    return found


def streaming(server: Server) -> bool:
    """Registered with its source and waiting for events (IO 'Yes' shows up earlier, at connect)."""
    raw = status(server).raw
    return "to send event" in str(raw.get("Replica_IO_State") or raw.get("Slave_IO_State") or "")


def has_row(server: Server, key: int) -> bool:
    return bool(server.query(f"SELECT 1 FROM {TABLE} WHERE id = %s", (key,)))


def create_table(lab: Lab, source: Server, column: str = "v INT") -> None:
    source.execute(f"CREATE TABLE {TABLE} (id INT PRIMARY KEY, {column})")
    assert lab.catch_up(timeout=30).caught_up


def seconds_to_replicate(source: Server, replica: Server, key: int, timeout: float = 30.0) -> float:
    started = time.monotonic()
    source.execute(f"INSERT INTO {TABLE} (id, v) VALUES ({key}, {key})")
    wait_for(f"row {key} on {replica.name}", lambda: has_row(replica, key), timeout, interval=0.005)
    return time.monotonic() - started


def lab_rules(server: Server, lab: Lab) -> list[str]:
    listing = netns_of(server.container).run("iptables", "-w", "5", "-S", "INPUT").stdout
    return [line for line in listing.splitlines() if f"{TAG_PREFIX}{lab.name}/" in line]


def fault_records(history: History, event: str) -> list[dict]:
    return [r for r in history.records if r["type"] == "fault" and r["event"] == event]


@contextmanager
def fast_partition_detection(lab: Lab, seconds: int = 2) -> Iterator[None]:
    """A replica notices a silent network only after its net timeout (default 60 s); shorten it for the test."""
    replicas = [link.replica for link in lab.links]
    originals = {}
    for server in replicas:
        variable = server.dialect.net_timeout_variable()
        originals[server.name] = int(server.query(f"SELECT @@global.{variable} AS v")[0]["v"])
        d = server.dialect
        server.execute(d.stop_replica("IO_THREAD"), d.set_net_timeout(seconds), d.start_replica("IO_THREAD"))
    try:
        for server in replicas:
            wait_for(f"{server.name} receiver connected", lambda s=server: status(s).io_running == "Yes")
        yield
    finally:
        for server in replicas:
            server.execute(server.dialect.set_net_timeout(originals[server.name]))


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path / "history.jsonl", "test-faults")


def pair(lab_pool, flavor: str, binlog_format: str = "STATEMENT") -> Lab:
    return lab_pool.get("active-passive", flavor, binlog_format)


# --- network ------------------------------------------------------------------------------------

def test_partition_loses_source_and_heal_restores(lab_pool, flavor: str, history: History) -> None:
    lab = pair(lab_pool, flavor)
    dc1, dc2 = lab.server("dc1"), lab.server("dc2")
    create_table(lab, dc1)
    with fast_partition_detection(lab), FaultSet(FaultContext(lab, history)) as faults:
        cut = faults.start({"type": "partition", "between": ["dc1", "dc2"], "direction": "both"})
        assert lab_rules(dc1, lab) and lab_rules(dc2, lab)
        dc1.execute(f"INSERT INTO {TABLE} VALUES (1, 1)")
        lost = wait_for("receiver to lose its source",
                        lambda: (s := status(dc2)).io_running == "Connecting" or s.last_io_errno in (2003, 2013))
        assert lost
        assert not has_row(dc2, 1)
        faults.heal(cut)
        assert not lab_rules(dc1, lab) and not lab_rules(dc2, lab)
        wait_for("receiver reconnected", lambda: status(dc2).io_running == "Yes", timeout=60)
    result = lab.catch_up(timeout=60)
    assert result.caught_up, result.summary()
    assert has_row(dc2, 1)
    assert [r["fault"] for r in fault_records(history, "start")] == ["partition"]
    assert [r["fault"] for r in fault_records(history, "heal")] == ["partition"]


def test_one_way_partition_cuts_only_that_direction(lab_pool, flavor: str, history: History) -> None:
    lab = lab_pool.get("active-active", flavor)
    dc1, dc2 = lab.server("dc1"), lab.server("dc2")
    create_table(lab, dc1)
    with fast_partition_detection(lab), FaultSet(FaultContext(lab, history)) as faults:
        faults.start({"type": "partition", "between": ["dc1", "dc2"], "direction": "dc1->dc2"})
        dc1.execute(f"INSERT INTO {TABLE} VALUES (1, 1)")
        dc2.execute(f"INSERT INTO {TABLE} VALUES (2, 2)")
        wait_for("dc2's write to reach dc1 (the other direction still flows)", lambda: has_row(dc1, 2))
        wait_for("dc2 to lose dc1", lambda: status(dc2).io_running != "Yes")
        assert status(dc1).io_running == "Yes"
        assert not has_row(dc2, 1)
    result = lab.catch_up(timeout=60)
    assert result.caught_up, result.summary()
    assert has_row(dc2, 1)


def rule_packets(server: Server, lab: Lab) -> int:
    listing = netns_of(server.container).run("iptables", "-w", "5", "-L", "INPUT", "-v", "-n", "-x").stdout
    return sum(int(line.split()[0]) for line in listing.splitlines() if f"{TAG_PREFIX}{lab.name}/" in line)


def test_packet_loss_drops_packets_and_replication_survives(lab_pool, flavor: str, history: History) -> None:
    lab = pair(lab_pool, flavor)
    dc1, dc2 = lab.server("dc1"), lab.server("dc2")
    create_table(lab, dc1)
    with FaultSet(FaultContext(lab, history)) as faults:
        faults.start({"type": "loss", "between": ["dc1", "dc2"], "probability": 0.3})
        rules = lab_rules(dc2, lab)
        assert rules and all(abs(float(rule.split("--probability ")[1].split()[0]) - 0.3) < 1e-6 for rule in rules)
        for key in range(1, 41):
            dc1.execute(f"INSERT INTO {TABLE} VALUES ({key}, {key})")
        result = lab.catch_up(timeout=90)
        dropped = rule_packets(dc1, lab) + rule_packets(dc2, lab)
    assert result.caught_up, result.summary()
    assert dropped > 0, "the loss rules never matched a packet"
    assert not lab_rules(dc1, lab) and not lab_rules(dc2, lab)


def test_bandwidth_limit_slows_a_bulk_row(lab_pool, flavor: str, history: History) -> None:
    lab = pair(lab_pool, flavor)
    dc1, dc2 = lab.server("dc1"), lab.server("dc2")
    create_table(lab, dc1, "v LONGBLOB")
    payload = "x" * 250_000  # a literal in the statement, so it crosses the link under any binlog format

    def replicate(key: int) -> float:
        started = time.monotonic()
        dc1.query(f"INSERT INTO {TABLE} VALUES (%s, %s)", (key, payload))
        wait_for(f"row {key}", lambda: has_row(dc2, key), timeout=60, interval=0.01)
        return time.monotonic() - started

    free = replicate(1)
    with FaultSet(FaultContext(lab, history)) as faults:
        faults.start({"type": "bandwidth", "between": ["dc1", "dc2"], "rate": "2mbit", "direction": "dc1->dc2"})
        [shaped] = fault_records(history, "start")[-1]["classes"]
        assert shaped["on"] == "dc1"
        netns = netns_of(dc1.container)
        assert "rate 2Mbit" in netns.run("tc", "class", "show", "dev", shaped["dev"]).stdout
        limited = replicate(2)
    expected = len(payload) * 8 / 2_000_000  # seconds at 2 mbit
    assert limited >= free + expected / 2, (free, limited)
    assert "htb 1ab:" not in netns.run("tc", "qdisc", "show", "dev", shaped["dev"]).stdout


def test_latency_delays_replication(lab_pool, flavor: str, history: History) -> None:
    lab = pair(lab_pool, flavor)
    dc1, dc2 = lab.server("dc1"), lab.server("dc2")
    create_table(lab, dc1)
    delay = 0.3
    before = statistics.median(seconds_to_replicate(dc1, dc2, key) for key in (1, 2, 3))
    with FaultSet(FaultContext(lab, history)) as faults:
        faults.start(Latency(FaultContext(lab, history), ("dc1", "dc2"), delay * 1000, "dc1->dc2"))
        start = fault_records(history, "start")[-1]
        if start["mechanism"] == "proxy":
            assert dc2.dialect.source_address(status(dc2))[0] == "127.0.0.1"
        wait_for("receiver streaming through the delay", lambda: streaming(dc2))
        during = statistics.median(seconds_to_replicate(dc1, dc2, key) for key in (4, 5, 6))
    assert during >= before + delay / 2, (before, during)
    assert dc2.dialect.source_address(status(dc2)) == ("dc1", 3306)
    wait_for("receiver reconnected directly", lambda: status(dc2).io_running == "Yes")
    assert seconds_to_replicate(dc1, dc2, 7) < during + 5  # still replicating after heal
    assert lab.catch_up(timeout=30).caught_up


# --- server -------------------------------------------------------------------------------------

def started_at(server: Server) -> str:
    server.container.reload()
    return server.container.attrs["State"]["StartedAt"]


@pytest.mark.parametrize("kind", ["crash", "restart"])
def test_server_down_restarts_and_replication_resumes(lab_pool, flavor: str, history: History, kind: str) -> None:
    lab = lab_pool.get("active-active", flavor)
    dc1, dc2 = lab.server("dc1"), lab.server("dc2")
    create_table(lab, dc1)
    dc1.execute(f"INSERT INTO {TABLE} VALUES (1, 1)")
    assert lab.catch_up(timeout=30).caught_up
    first_start = started_at(dc2)
    with FaultSet(FaultContext(lab, history)) as faults:
        down = faults.start({"type": kind, "server": "dc2"})
        dc2.container.reload()
        assert dc2.container.status == "exited"
        with pytest.raises(pymysql.err.OperationalError):
            dc2.query("SELECT 1")
        exit_code = dc2.container.attrs["State"]["ExitCode"]
        assert exit_code == (137 if kind == "crash" else 0), exit_code  # SIGKILL vs a clean shutdown
        dc1.execute(f"INSERT INTO {TABLE} VALUES (2, 2)")  # written while dc2 is down
        faults.heal(down)
        assert started_at(dc2) != first_start
        assert status(dc2).sql_running == "Yes"
        dc2.execute(f"INSERT INTO {TABLE} VALUES (3, 3)")  # written after, on the restarted server
    result = lab.catch_up(timeout=60)
    assert result.caught_up, result.summary()
    for server in (dc1, dc2):
        assert {r["id"] for r in server.query(f"SELECT id FROM {TABLE}")} == {1, 2, 3}


def test_pause_freezes_commits_until_unpause(lab_pool, flavor: str, history: History) -> None:
    lab = pair(lab_pool, flavor)
    dc1 = lab.server("dc1")
    create_table(lab, dc1)
    connection = dc1.connect(read_timeout=60)
    outcome: dict[str, Any] = {}

    def write() -> None:
        try:
            with connection.cursor() as cursor:
                outcome["rows"] = cursor.execute(f"INSERT INTO {TABLE} VALUES (1, 1)")
        except Exception as exc:
            outcome["error"] = exc
        outcome["done"] = time.monotonic()

    with FaultSet(FaultContext(lab, history)) as faults:
        pause = faults.start(Pause(FaultContext(lab, history), "dc1"))
        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        writer.join(1.5)
        assert writer.is_alive(), "a write to a paused server completed"
        healed_at = time.monotonic()
        faults.heal(pause)
        writer.join(30)
    connection.close()
    assert not writer.is_alive() and "error" not in outcome, outcome
    assert outcome["rows"] == 1 and outcome["done"] >= healed_at
    assert lab.catch_up(timeout=30).caught_up


# --- link ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("thread", ["io", "sql"])
def test_stopped_thread_holds_events_until_healed(lab_pool, flavor: str, history: History, thread: str) -> None:
    lab = pair(lab_pool, flavor)
    dc1, dc2 = lab.server("dc1"), lab.server("dc2")
    create_table(lab, dc1)
    with FaultSet(FaultContext(lab, history)) as faults:
        stop = faults.start({"type": f"stop_{thread}", "link": "dc1->dc2"})
        assert isinstance(stop, StopThread)
        current = status(dc2)
        assert (current.io_running if thread == "io" else current.sql_running) == "No"
        dc1.execute(f"INSERT INTO {TABLE} VALUES (1, 1)")
        result = lab.catch_up(timeout=5)
        assert not result.caught_up
        assert not has_row(dc2, 1)
        if thread == "sql":  # the receiver still fetched it
            wait_for("event in the relay log", lambda: status(dc2).read_source_log_pos > current.read_source_log_pos)
    assert status(dc2).running   # the heal waits for the receiver to connect
    assert lab.catch_up(timeout=30).caught_up
    assert has_row(dc2, 1)


def test_hold_appliers_stops_every_applier_while_both_dcs_write(lab_pool, flavor: str, history: History) -> None:
    """The incident's forced overlap as a fault: each DC takes its own write and applies neither."""
    lab = lab_pool.get("active-active", flavor, "STATEMENT")
    dc1, dc2 = lab.server("dc1"), lab.server("dc2")
    create_table(lab, dc1)
    with FaultSet(FaultContext(lab, history)) as faults:
        held = faults.start({"type": "hold_appliers"})
        assert isinstance(held, HoldAppliers)
        assert {s.name: status(s).sql_running for s in (dc1, dc2)} == {"dc1": "No", "dc2": "No"}
        assert all(status(s).io_running != "No" for s in (dc1, dc2))  # the receivers keep fetching
        dc1.execute(f"INSERT INTO {TABLE} VALUES (1, 1)")
        dc2.execute(f"INSERT INTO {TABLE} VALUES (2, 2)")
        assert not lab.catch_up(timeout=3).caught_up
        assert not has_row(dc2, 1) and not has_row(dc1, 2)
    assert [r["fault"] for r in fault_records(history, "heal")] == ["hold_appliers"]
    assert all(status(s).running for s in (dc1, dc2))
    assert lab.catch_up(timeout=30).caught_up
    assert has_row(dc2, 1) and has_row(dc1, 2)


def test_replication_delay_holds_events_for_the_delay(lab_pool, flavor: str, history: History) -> None:
    lab = pair(lab_pool, flavor)
    dc1, dc2 = lab.server("dc1"), lab.server("dc2")
    create_table(lab, dc1)
    with FaultSet(FaultContext(lab, history)) as faults:
        faults.start({"type": "delay", "link": "dc1->dc2", "seconds": 2})
        assert status(dc2).sql_delay == 2
        took = seconds_to_replicate(dc1, dc2, 1)
    assert took >= 1.0, took
    healed = status(dc2)
    assert healed.sql_delay == 0 and healed.running   # the heal waits for the receiver to connect
    assert seconds_to_replicate(dc1, dc2, 2) < 2.0 + took


def conflict(dc1: Server, dc2: Server, key: int) -> None:
    """dc2 already holds `key` (written with the binlog off), then dc1 inserts it: a duplicate on the replica."""
    with dc2.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SET SESSION sql_log_bin=0")
        cursor.execute(f"INSERT INTO {TABLE} VALUES ({key}, 99)")
    dc1.execute(f"INSERT INTO {TABLE} VALUES ({key}, 1)")


def test_idempotent_mode_ignores_row_conflicts_and_heal_restores_strict(lab_pool, flavor: str,
                                                                         history: History) -> None:
    lab = pair(lab_pool, flavor, "ROW")  # exec mode only applies to row events
    dc1, dc2 = lab.server("dc1"), lab.server("dc2")
    create_table(lab, dc1)
    ctx = FaultContext(lab, history)
    with FaultSet(ctx) as faults:
        mode = faults.start({"type": "idempotent", "link": "dc1->dc2"})
        assert isinstance(mode, ExecMode) and mode.current() == "IDEMPOTENT"
        conflict(dc1, dc2, 1)
        result = lab.catch_up(timeout=30)
        assert result.caught_up and not result.errors, result.summary()
    assert ExecMode(ctx, "dc1->dc2").current() == "STRICT"
    conflict(dc1, dc2, 2)
    broken = wait_for("applier to stop on the duplicate", lambda: (s := status(dc2)).last_sql_errno and s)
    assert broken.last_sql_errno == 1062
    with FaultSet(ctx) as faults:  # leave the shared lab healthy
        faults.start({"type": "skip_event", "link": "dc1->dc2"})
    assert lab.catch_up(timeout=30).caught_up


def test_delay_heal_keeps_the_error_its_change_clears(lab_pool, flavor: str, history: History) -> None:
    """CHANGE MASTER/REPLICATION SOURCE resets Last_SQL_Error; the heal's record must keep what it cleared."""
    lab = pair(lab_pool, flavor)
    dc1, dc2 = lab.server("dc1"), lab.server("dc2")
    create_table(lab, dc1)
    ctx = FaultContext(lab, history)
    with FaultSet(ctx) as faults:
        faults.start({"type": "delay", "link": "dc1->dc2", "seconds": 1})
        conflict(dc1, dc2, 1)
        broken = wait_for("applier to stop on the duplicate", lambda: (s := status(dc2)).last_sql_errno and s)
    heal = fault_records(history, "heal")[-1]
    assert heal["cleared_sql_errno"] == broken.last_sql_errno
    assert status(dc2).last_sql_errno == 0, "the change did clear the server's own record of the error"
    dc2.execute(dc2.dialect.start_replica("SQL_THREAD"))  # fails again on the same event: then skip it
    wait_for("applier to stop again", lambda: status(dc2).last_sql_errno)
    with FaultSet(ctx) as faults:  # leave the shared lab healthy
        faults.start({"type": "skip_event", "link": "dc1->dc2"})
    assert lab.catch_up(timeout=30).caught_up


def test_skip_event_skips_exactly_the_failing_transaction(lab_pool, flavor: str, history: History) -> None:
    lab = pair(lab_pool, flavor)
    dc1, dc2 = lab.server("dc1"), lab.server("dc2")
    create_table(lab, dc1)
    conflict(dc1, dc2, 1)
    dc1.execute(f"INSERT INTO {TABLE} VALUES (2, 2)")
    wait_for("applier to stop", lambda: status(dc2).sql_running == "No")
    with FaultSet(FaultContext(lab, history)) as faults:
        skip = faults.start({"type": "skip_event", "link": "dc1->dc2"})
        assert isinstance(skip, SkipEvent)
    record = fault_records(history, "start")[-1]
    assert len(record["skipped"]) == 1 and record["skipped"][0]["errno"] == 1062
    result = lab.catch_up(timeout=30)
    assert result.caught_up, result.summary()
    assert dc2.query(f"SELECT v FROM {TABLE} WHERE id = 1")[0]["v"] == 99  # dc1's insert was skipped
    assert has_row(dc2, 2)  # the next transaction was applied


# --- guarantees ---------------------------------------------------------------------------------

def test_faultset_heals_everything_on_error(lab_pool, flavor: str, history: History) -> None:
    lab = pair(lab_pool, flavor)
    dc1, dc2 = lab.server("dc1"), lab.server("dc2")
    ctx = FaultContext(lab, history)
    with pytest.raises(RuntimeError, match="boom"), FaultSet(ctx) as faults:
        faults.start({"type": "stop_sql", "link": "dc1->dc2"})
        faults.start(Partition(ctx, ("dc1", "dc2")))
        faults.start({"type": "pause", "server": "dc2"})  # last: a paused server answers no query
        raise RuntimeError("boom")
    dc2.container.reload()
    assert dc2.container.status == "running"
    assert not lab_rules(dc1, lab) and not lab_rules(dc2, lab)
    assert status(dc2).sql_running == "Yes"
    assert len(fault_records(history, "heal")) == 3


DRIVER = """
import sys, time
from lab.db.lab import Lab
from lab.faults import FaultContext, FaultSet
from lab.history import History
lab = Lab.attach(sys.argv[1])
history = History(__import__("pathlib").Path(sys.argv[2]), "sigterm")
with FaultSet(FaultContext(lab, history)) as faults:
    faults.start({"type": "partition", "between": ["dc1", "dc2"]})
    faults.start({"type": "pause", "server": "dc2"})
    print("injected", flush=True)
    time.sleep(120)
"""


def test_sigterm_during_faults_heals_them(lab_pool, flavor: str, tmp_path: Path) -> None:
    lab = pair(lab_pool, flavor)
    dc1, dc2 = lab.server("dc1"), lab.server("dc2")
    path = tmp_path / "history.jsonl"
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, lab.name, str(path)], cwd=ROOT, env=os.environ.copy(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert driver.stdout is not None
        line = driver.stdout.readline()
        assert line.strip() == "injected", line + driver.stdout.read()
        assert lab_rules(dc1, lab)
        driver.send_signal(signal.SIGTERM)
        output = driver.communicate(timeout=60)[0]
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode != 0, output
    dc2.container.reload()
    assert dc2.container.status == "running"
    assert not lab_rules(dc1, lab) and not lab_rules(dc2, lab)
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["fault"], e["event"]) for e in events] == [
        ("partition", "start"), ("pause", "start"), ("pause", "heal"), ("partition", "heal")]


def test_sweep_undoes_faults_left_by_a_dead_driver(lab_pool, flavor: str) -> None:
    lab = pair(lab_pool, flavor)
    dc1, dc2 = lab.server("dc1"), lab.server("dc2")
    ctx = FaultContext(lab)
    left = [build(ctx, spec).start() for spec in (  # never healed: as if the process had been killed
        {"type": "latency", "between": ["dc1", "dc2"], "delay_ms": 50, "mechanism": "proxy"},
        {"type": "partition", "between": ["dc1", "dc2"]},
        {"type": "bandwidth", "between": ["dc1", "dc2"], "rate": "1mbit"},
        {"type": "pause", "server": "dc1"})]
    actions = sweep(lab)
    assert any("unpaused" in a for a in actions) and any("iptables" in a for a in actions)
    assert any("qdisc" in a for a in actions) and any("re-pointed" in a for a in actions)
    assert not lab_rules(dc1, lab) and not lab_rules(dc2, lab)
    assert dc2.dialect.source_address(status(dc2)) == ("dc1", 3306)
    assert sweep(lab) == []
    for fault in left:  # healing after a sweep finds nothing to undo, and stops this process's proxy thread
        fault.heal()
    assert sweep(lab) == []
    assert lab.catch_up(timeout=60).caught_up


def test_crash_through_a_spec_records_history(lab_pool, flavor: str, history: History) -> None:
    lab = pair(lab_pool, flavor)
    ctx = FaultContext(lab, history)
    fault = build(ctx, {"type": "crash", "dc": "dc1"})
    assert isinstance(fault, Crash) and fault.describe()["server"] == "dc1"
    with FaultSet(ctx) as faults:
        faults.start(fault)
    assert fault_records(history, "heal")[0]["port"] == lab.server("dc1").endpoint.port
    assert lab.server("dc1").query("SELECT 1 AS one")[0]["one"] == 1
    assert lab.catch_up(timeout=60).caught_up


def test_position_based_links_keep_their_coordinates(flavor: str, tmp_path: Path, history: History) -> None:
    """Without GTIDs, re-pointing must carry the executed coordinates and skipping uses the skip counter."""
    from lab.db import cleanup, topology

    path = tmp_path / "pair-pos.yaml"
    path.write_text(f"name: pair-pos\nreplication: one-way\ndefaults: {{flavor: '{flavor}', gtid: false}}\n"
                    "servers:\n  dc1: {}\n  dc2: {}\nlinks:\n  - {source: dc1, replica: dc2}\n")
    name = f"t-pos-{flavor.replace(':', '').replace('.', '')}"
    cleanup.remove_lab(name)
    lab = Lab.up(topology.load(path), name=name)
    try:
        dc1, dc2 = lab.server("dc1"), lab.server("dc2")
        create_table(lab, dc1)
        ctx = FaultContext(lab, history)
        with FaultSet(ctx) as faults:
            faults.start({"type": "latency", "between": ["dc1", "dc2"], "delay_ms": 100, "mechanism": "proxy"})
            assert seconds_to_replicate(dc1, dc2, 1) >= 0.05
        assert seconds_to_replicate(dc1, dc2, 2) < 30
        conflict(dc1, dc2, 3)
        dc1.execute(f"INSERT INTO {TABLE} VALUES (4, 4)")
        wait_for("applier to stop", lambda: status(dc2).sql_running == "No")
        with FaultSet(ctx) as faults:
            faults.start({"type": "skip_event", "link": "dc1->dc2"})
        assert fault_records(history, "start")[-1]["skipped"][0]["skip_counter"] == 1
        result = lab.catch_up(timeout=30)
        assert result.caught_up, result.summary()
        rows = {r["id"]: r["v"] for r in dc2.query(f"SELECT id, v FROM {TABLE}")}
        assert rows == {1: 1, 2: 2, 3: 99, 4: 4}  # nothing replayed twice, nothing lost, only the conflict skipped
    finally:
        lab.down()
