"""Workload cells on real servers. Every count the lab reports is recomputed here by other means (SQL on
each DC, a plain scan of the history), so the tests hold whatever the servers did: no outcome is assumed.

- tickets: duplicate numbers, lost tickets and foreign numbers are counted from the tables;
- documents: PATCH lost updates are checked against the history and the rows, in both directions;
- orders: invariant violations are counted from the rows, per DC.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lab import experiments, results
from lab.checker.repair import Policy, plan
from lab.db.lab import Lab
from lab.history import History
from lab.results import schema
from lab.results.writer import CellOutcome
from lab.runner import Cell, run_experiment
from lab.testing import LabPool

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
FIELDS = ("name", "email", "plan")


def run_workload(lab_pool: LabPool, flavor: str, file_name: str, tmp_path: Path,
                 **chosen: str) -> tuple[Lab, Cell, CellOutcome]:
    """Run the first cell of an experiment file that matches `chosen`, on the pooled lab of its topology."""
    experiment = experiments.load(EXPERIMENTS / file_name)
    matching = [c for c in experiment.cells() if all(c[k] == v for k, v in chosen.items())]
    assert matching, f"no cell of {file_name} matches {chosen}"
    parameters = {**matching[0], "flavor": flavor}
    lab = lab_pool.get(parameters["topology"], flavor, parameters["binlog_format"])
    history = History(tmp_path / "history.jsonl", experiment.name)
    history.start_cell(experiments.cell_id(parameters), parameters)
    cell = Cell.of(lab, experiment, parameters, history, experiment.seed, source=str(EXPERIMENTS / file_name))
    outcome = cell.run()
    assert outcome.summary["status"] == "completed"
    return lab, cell, outcome


def rows(lab: Lab, sql: str) -> dict[str, list[dict[str, Any]]]:
    return {dc: lab.server(name).query(sql) for dc, name in lab.topology.dcs.items()}


def stopped_appliers(lab: Lab) -> int:
    return sum(1 for _link, status in lab.link_statuses() if status is None or status.sql_running != "Yes")


def violations_by_dc(outcome: CellOutcome, invariant: str) -> dict[str, set[str]]:
    frame = outcome.tables[schema.VIOLATIONS_FILE]
    mine = frame[frame["invariant"] == invariant]
    return {dc: set(group["key"]) for dc, group in mine.groupby("dc")}


def successful(history: History, **fields: Any) -> list[dict[str, Any]]:
    return [r for r in history.operations() if all(r.get(k) == v for k, v in fields.items())
            and not r.get("error") and (r.get("rows_affected") or 0) > 0]


# --- tickets -----------------------------------------------------------------------------------
@pytest.mark.parametrize("binlog_format", ["STATEMENT", "ROW"])
def test_ticket_outcomes_are_counted_from_the_tables(lab_pool: LabPool, flavor: str, binlog_format: str,
                                                     tmp_path: Path) -> None:
    lab, cell, outcome = run_workload(lab_pool, flavor, "ticket-numbers.yaml", tmp_path, binlog_format=binlog_format,
                                      mode="deterministic", exec_mode="STRICT", strategy="next")
    summary = outcome.summary
    tickets = rows(lab, "SELECT id, order_id, number FROM tickets")
    holders: dict[int, set[str]] = {}
    for dc_rows in tickets.values():
        for row in dc_rows:
            if row["number"] is not None:
                holders.setdefault(int(row["number"]), set()).add(row["id"])
    assert summary["inv_duplicate_number"] == sum(1 for ids in holders.values() if len(ids) > 1)

    sold = {r["key"] for r in successful(cell.history, op="ticket", kind="insert")}
    missing = {dc: sold - {row["id"] for row in dc_rows} for dc, dc_rows in tickets.items()}
    assert summary["inv_lost_ticket"] == sum(len(keys) for keys in missing.values())
    assert violations_by_dc(outcome, "lost_ticket") == {dc: keys for dc, keys in missing.items() if keys}

    foreign = rows(lab, "SELECT t.id FROM tickets t LEFT JOIN ticket_numbers n ON n.number = t.number "
                        "WHERE t.number IS NOT NULL AND (n.order_id IS NULL OR n.order_id <> t.order_id)")
    assert summary["inv_number_owned_by_other_order"] == sum(len(found) for found in foreign.values())
    assert summary["tickets_sold"] == len(sold)
    assert summary["stopped_appliers"] == stopped_appliers(lab)
    if summary["stopped_appliers"]:
        assert summary["replication_errors"] > 0, "a stopped applier must come with the error that stopped it"
    claims = successful(cell.history, op="claim", phase="traffic")
    assert {r["dc"] for r in claims} == set(lab.topology.dcs), "both DCs claimed numbers during the overlap"
    assert [r["event"] for r in cell.history.records if r["type"] == "fault" and r["fault"] == "hold_appliers"] \
        == ["start", "heal"]


def test_idempotent_exec_mode_is_restored_after_the_cell(lab_pool: LabPool, flavor: str, tmp_path: Path) -> None:
    lab, cell, _outcome = run_workload(lab_pool, flavor, "ticket-numbers.yaml", tmp_path, binlog_format="ROW",
                                       mode="deterministic", exec_mode="IDEMPOTENT", strategy="next")
    faults = [r for r in cell.history.records if r["type"] == "fault" and r.get("fault") == "idempotent"]
    assert sorted(r["event"] for r in faults) == ["heal"] * len(lab.links) + ["start"] * len(lab.links)
    for link in lab.links:
        variable = link.replica.dialect.exec_mode_variable()
        assert link.replica.query(f"SELECT @@global.{variable} AS m")[0]["m"].upper() == "STRICT"
    registry = rows(lab, "SELECT number, order_id FROM ticket_numbers")
    owners = {dc: {int(r["number"]): r["order_id"] for r in found} for dc, found in registry.items()}
    differing = {n for n in set().union(*owners.values()) if len({o.get(n) for o in owners.values()}) > 1}
    diverged = {key for table, key in cell.diverged("after_run") if table == "ticket_numbers"}
    assert diverged == {str(n) for n in differing}


# --- documents ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["single_dc", "concurrent"])
def test_patch_lost_updates_agree_with_history_and_rows(lab_pool: LabPool, flavor: str, mode: str,
                                                        tmp_path: Path) -> None:
    _lab, cell, outcome = run_workload(lab_pool, flavor, "put-patch-versions.yaml", tmp_path, binlog_format="ROW",
                                       guard="strict", mode=mode, versions="counter",
                                      requests="patch_without_version")
    writes = successful(cell.history, table="entities", kind="update", phase="traffic")  # the app's, not probes
    if mode == "single_dc":
        assert {r["dc"] for r in cell.history.operations() if r.get("table") == "entities"} == {"dc1"}
    # the rows every DC held when the application stopped (SELECT * per DC), before the lab's probe writes
    assert cell.story is not None
    held = {(str(r["id"]), f, r[f]) for tables in cell.story.rows.values()
            for r in tables["entities"].to_dict("records") for f in FIELDS}

    def vanished(write: dict[str, Any]) -> bool:
        return not any((str(write["key"]), f, v) in held for f, v in write["changes"].items())

    by_seq = {r["seq"]: r for r in writes}
    reported = outcome.tables[schema.LOST_UPDATES_FILE]
    for lost in reported.to_dict("records"):
        write = by_seq[lost["seq"]]
        assert vanished(write), f"reported lost but a DC holds it: {write['changes']}"
        culprit = by_seq[lost["overwritten_by_seq"]]
        assert culprit["key"] == write["key"]
        assert not all(culprit["basis"].get(f) == v for f, v in write["changes"].items()), "culprit had seen it"
    lost_seqs = set(reported["seq"])
    for write in writes:  # every vanished write that is not reported was replaced by someone who had read it
        if vanished(write) and write["seq"] not in lost_seqs:
            assert any(other["key"] == write["key"] and other is not write
                       and all(other["basis"].get(f) == v for f, v in write["changes"].items())
                       for other in writes), write
    assert outcome.summary["lost_updates"] == len(reported)
    attributed = sum(outcome.summary[f"overwritten_by_{op}"] for op in ("put", "patch", "patch_no_version"))
    assert attributed == reported["overwritten_by_seq"].notna().sum()
    produced: dict[tuple[str, int], set[tuple]] = {}
    for write in writes:
        content = tuple(write["writes"].get(f, write["basis"].get(f)) for f in FIELDS)
        produced.setdefault((write["key"], int(write["new_version"])), set()).add(content)
    assert outcome.summary["version_collisions"] == sum(1 for seen in produced.values() if len(seen) > 1)


def test_same_version_different_content_is_read_from_the_rows(lab_pool: LabPool, flavor: str, tmp_path: Path) -> None:
    _lab, cell, outcome = run_workload(lab_pool, flavor, "put-patch-versions.yaml", tmp_path, binlog_format="STATEMENT",
                                       guard="strict", mode="concurrent", versions="counter", requests="put_only")
    assert cell.story is not None  # the rows when the application stopped; later probe writes change them
    by_key: dict[int, dict[int, set[tuple]]] = {}
    for tables in cell.story.rows.values():
        for r in tables["entities"].to_dict("records"):
            by_key.setdefault(r["id"], {}).setdefault(r["version"], set()).add((r["name"], r["email"], r["plan"]))
    expected = sum(1 for versions in by_key.values() for contents in versions.values() if len(contents) > 1)
    assert outcome.summary["inv_version_identifies_content"] == expected
    # what the checker's repair makes of a collision: it cannot order the DCs, and says so
    collided = violations_by_dc(outcome, "version_identifies_content").get("*", set())
    repair = plan(cell.check_results["after_run"]["entities"], Policy.parse("version=version"))
    assert collided <= {str(key[0]) for key in repair.ties}


# --- orders ------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["single_dc", "deterministic"])
def test_order_invariants_are_counted_from_the_rows(lab_pool: LabPool, flavor: str, mode: str, tmp_path: Path) -> None:
    lab, cell, outcome = run_workload(lab_pool, flavor, "order-state-machine.yaml", tmp_path, binlog_format="STATEMENT",
                                      guard="none", mode=mode, validation="app", retries="0")
    refunded = rows(lab, "SELECT o.id FROM orders o JOIN refunds r ON r.order_id = o.id WHERE o.state = 'approved'")
    assert violations_by_dc(outcome, "approved_after_refund") == {
        dc: {str(r["id"]) for r in found} for dc, found in refunded.items() if found}
    impossible = rows(lab, "SELECT p.id FROM products p LEFT JOIN variants v ON v.colour = p.colour "
                           "AND v.size = p.size WHERE v.colour IS NULL")
    assert violations_by_dc(outcome, "impossible_variant") == {
        dc: {str(r["id"]) for r in found} for dc, found in impossible.items() if found}
    assert outcome.summary["invariant_violations"] == len(outcome.tables[schema.VIOLATIONS_FILE])
    acting = {r["dc"] for r in successful(cell.history, kind="update", phase="traffic")}
    assert acting == ({"dc1"} if mode == "single_dc" else set(lab.topology.dcs))


# --- the runner, files and loader --------------------------------------------------------------
def test_workload_run_writes_what_the_loader_reads(flavor: str, tmp_path: Path) -> None:
    only = {"flavor": {flavor}, "binlog_format": {"ROW"}, "guard": {"strict"}, "mode": {"deterministic"},
            "validation": {"app"}, "retries": {"0"}}
    result = run_experiment(EXPERIMENTS / "order-state-machine.yaml", only=only, results_root=tmp_path,
                        progress=lambda _m: None)
    assert result.completed and len(result.summaries) == 1
    summary = result.summaries[0]
    loaded = results.load(result.directory.path)
    cell = loaded.cells.iloc[0]
    assert cell["validation"] == "app" and cell["workload"] == "orders"
    for column in ("invariant_violations", "inv_approved_after_refund", "inv_impossible_variant", "lost_updates"):
        assert loaded.cells[column].dtype.name == "Int64"
        assert int(cell[column]) == summary[column]
    assert len(loaded.violations) == summary["invariant_violations"]
    assert len(loaded.lost_updates) == summary["lost_updates"]
    history_ops = loaded.history[loaded.history["type"] == "op"]
    assert len(history_ops) == summary["operations"]
