"""The incident experiment against real servers: verdicts agree with the rows, history is complete,
cells are isolated, and deterministic mode really makes both DCs write. No test asserts which
outcome the servers produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import experiments
from lab.db.lab import Lab
from lab.history import History
from lab.results.writer import CellOutcome
from lab.runner import Cell
from lab.testing import LabPool
from lab.workloads.guards import Guard

EXPERIMENT = experiments.load(Path(__file__).resolve().parents[2] / "experiments" / "wix-incident.yaml")
TABLE = EXPERIMENT.scenario.table


def parameters(flavor: str, guard: str, binlog_format: str = "STATEMENT", mode: str = "deterministic") -> dict:
    return {"topology": "active-active", "binlog_format": binlog_format, "guard": guard, "flavor": flavor,
            "mode": mode, "version_order": "dc1_newer"}


def rows_by_dc(lab: Lab) -> dict[str, dict[int, tuple]]:
    return {dc: {r["id"]: (r["first_name"], r["version"])
                 for r in lab.server(name).query(f"SELECT id, first_name, version FROM {TABLE}")}
            for dc, name in lab.topology.dcs.items()}


def run_cell(lab_pool, flavor: str, params: dict, tmp_path: Path,
             close_clients: bool = True) -> tuple[Lab, Cell, History, CellOutcome]:
    lab = lab_pool.get("active-active", flavor, params["binlog_format"])
    history = History(tmp_path / "history.jsonl", EXPERIMENT.name)
    history.start_cell(experiments.cell_id(params), params)
    cell = Cell.of(lab, EXPERIMENT, params, history, EXPERIMENT.seed)
    outcome = cell.run(close_clients=close_clients)
    return lab, cell, history, outcome


@pytest.mark.parametrize("guard", sorted(Guard.registry))
def test_verdict_matches_rows_read_from_every_dc(lab_pool: LabPool, flavor: str, guard: str, tmp_path: Path) -> None:
    lab, cell, _history, outcome = run_cell(lab_pool, flavor, parameters(flavor, guard), tmp_path)
    assert lab.catch_up().caught_up
    rows = rows_by_dc(lab)
    keys = set().union(*(set(r) for r in rows.values()))
    differing = {k for k in keys if len({repr(dc_rows.get(k)) for dc_rows in rows.values()}) > 1}
    final_check = "after_fix" if EXPERIMENT.fix else "after_probe"
    assert cell.diverged(final_check) == {(TABLE, str(key)) for key in differing}
    assert outcome.summary["diverged_after_fix" if EXPERIMENT.fix else "stuck_rows"] == len(differing)
    reported = cell.checks[final_check].set_index("key")
    for key in differing:
        for dc, dc_rows in rows.items():
            present = key in dc_rows
            assert bool(reported.loc[str(key), f"{dc}.present"]) == present
            if present:
                assert reported.loc[str(key), f"{dc}.first_name"] == dc_rows[key][0]
                assert int(reported.loc[str(key), f"{dc}.version"]) == dc_rows[key][1]


def test_history_records_every_statement_once(lab_pool: LabPool, flavor: str, tmp_path: Path) -> None:
    """Each client's server-side session counters must equal what the history says that client issued."""
    _lab, cell, history, _outcome = run_cell(lab_pool, flavor, parameters(flavor, "strict"), tmp_path,
                                             close_clients=False)
    operations = history.operations()
    assert len({op["seq"] for op in operations}) == len(operations)
    try:
        for client in cell.clients:
            assert client._connection is not None and client._connection.open
            with client._connection.cursor() as cursor:
                cursor.execute("SHOW SESSION STATUS WHERE Variable_name IN ('Com_update','Com_select','Com_insert')")
                counters = {row["Variable_name"]: int(row["Value"]) for row in cursor.fetchall()}
            mine = [op for op in operations if op["client"] == client.client_id and op["dc"] == client.dc]
            assert counters["Com_update"] == sum(op["kind"] == "update" for op in mine), client.client_id
            assert counters["Com_insert"] == sum(op["kind"] == "insert" for op in mine), client.client_id
            assert counters["Com_select"] == sum(op["kind"] == "read" for op in mine), client.client_id
            assert all(op["rows_affected"] is not None and op["error"] is None for op in mine)
    finally:
        for client in cell.clients:
            client.close()
    on_disk = (tmp_path / "history.jsonl").read_text().splitlines()
    assert len(on_disk) == len(history.records)


def test_deterministic_overlap_really_conflicts(lab_pool: LabPool, flavor: str, tmp_path: Path) -> None:
    _lab, _cell, history, outcome = run_cell(lab_pool, flavor, parameters(flavor, "strict"), tmp_path)
    overlap = [op for op in history.operations() if op["phase"] == "overlap" and op["kind"] == "update"]
    for key in EXPERIMENT.scenario.conflict_rows:
        local = {op["dc"]: op["rows_affected"] for op in overlap if op["key"] == str(key)}
        assert local == {"dc1": 1, "dc2": 1}, f"row {key}: {local}"
    reads = [op for op in history.operations() if op["phase"] == "overlap" and op["kind"] == "read"]
    assert {op["version"] for op in reads} == {EXPERIMENT.scenario.initial_version}
    assert outcome.summary["conflicting_rows"] == len(EXPERIMENT.scenario.conflict_rows)


def test_cells_are_isolated(lab_pool: LabPool, flavor: str, tmp_path: Path) -> None:
    first = parameters(flavor, "gte", "ROW")
    lab, _cell, _history, _outcome = run_cell(lab_pool, flavor, first, tmp_path)
    assert lab.server("dc1").query(f"SELECT COUNT(*) AS n FROM {TABLE}")[0]["n"] > 0
    lab = lab_pool.get("active-active", flavor, "STATEMENT")  # what the runner does between cells
    for server in lab.servers.values():
        assert server.query("SHOW TABLES") == []
        if server.dialect.name == "mysql":
            assert server.query("SELECT @@global.gtid_executed AS g")[0]["g"] == ""
        else:
            assert server.query("SELECT @@global.gtid_binlog_pos AS g")[0]["g"] == ""
        logs = server.query("SHOW BINARY LOGS")
        assert len(logs) == 1
        events = server.query(server.dialect.binlog_events(logs[0]["Log_name"]))
        assert not any(TABLE in (e.get("Info") or "") for e in events)
    second = parameters(flavor, "strict", "STATEMENT")
    history = History(None, EXPERIMENT.name)
    history.start_cell(experiments.cell_id(second), second)
    outcome = Cell.of(lab, EXPERIMENT, second, history, EXPERIMENT.seed).run()
    assert {r["cell"] for r in history.records} == {experiments.cell_id(second)}
    seeded_reads = [op for op in history.operations() if op["phase"] == "single_leader" and op["kind"] == "read"]
    assert seeded_reads and all(op["value"] in (EXPERIMENT.scenario.initial_value,) or op["value"].startswith("leader-")
                                for op in seeded_reads)
    assert outcome.summary["status"] == "completed"
