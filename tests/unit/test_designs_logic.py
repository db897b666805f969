"""The pure logic behind the design comparison: how each mode forces the overlap, which cells a design cannot
run, what a refused binlog format says, the certification and latency counts, and the retry policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lab import experiments
from lab.client import Outcome, errno_of
from lab.db.formats import FormatOutcome, start_refusal
from lab.errors import LabError
from lab.runner import plan, plan_cell, steps
from lab.runner.plans import overlap_of
from lab.verdicts import counts
from lab.workloads.users import Attempt, Users, UserSettings

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
DESIGNS = experiments.load(EXPERIMENTS / "replication-designs.yaml")


def cell(**chosen: str) -> dict[str, str]:
    return next(c for c in DESIGNS.cells() if all(c[k] == v for k, v in chosen.items()))


def overlap_ops(mode: str, certifying: bool = True) -> list[tuple[str, str, int]]:
    chosen = plan_cell(DESIGNS, cell(mode=mode), 1, ["dc1", "dc2", "dc3"], certifying)
    scripts = [s for s in chosen.steps if isinstance(s, steps.Script) and s.phase == "overlap"]
    return [(op.dc, op.kind, op.key) for script in scripts for op in script.ops]


def test_deterministic_holds_appliers_only_where_there_are_appliers() -> None:
    assert overlap_of("deterministic", certifying=False) == "held_appliers"
    assert overlap_of("deterministic", certifying=True) == "txn_dc2_first"
    wix = experiments.load(EXPERIMENTS / "wix-incident.yaml")
    params = next(c for c in wix.cells() if c["mode"] == "deterministic")
    on_group = plan_cell(wix, params, 1, ["dc1", "dc2", "dc3"], certifying=True)
    assert not any(isinstance(s, steps.HoldAppliers) for s in on_group.steps)
    assert on_group.overlap == "txn_dc2_first"


def test_the_transaction_interleavings_in_order() -> None:
    row = DESIGNS.scenario.conflict_rows[0]
    first = [op for op in overlap_ops("txn_dc2_first") if op[2] == row]
    assert first == [("dc1", "read", row), ("dc2", "read", row), ("dc2", "begin", row), ("dc2", "write", row),
                     ("dc1", "write", row), ("dc2", "commit", row)]
    reverse = [op for op in overlap_ops("txn_dc1_first") if op[2] == row]
    assert reverse == [("dc1", "read", row), ("dc2", "read", row), ("dc1", "begin", row), ("dc1", "write", row),
                       ("dc2", "write", row), ("dc1", "commit", row)]


def test_a_stale_read_writes_after_a_catch_up() -> None:
    chosen = plan_cell(DESIGNS, cell(mode="stale_read"), 1, ["dc1", "dc2"], False)
    scripts = [s for s in chosen.steps if isinstance(s, steps.Script) and s.phase == "overlap"]
    assert len(scripts) == 2 and all(s.catch_up for s in scripts)
    assert {(op.dc, op.kind) for op in scripts[1].ops} == {("dc2", "write")}
    assert {(op.dc, op.kind) for op in scripts[0].ops} == {("dc1", "read"), ("dc2", "read"), ("dc1", "write")}


def test_pairs_a_design_cannot_run_are_left_out_and_named() -> None:
    chosen = plan(EXPERIMENTS / "replication-designs.yaml")
    assert not any(c["topology"] == "galera-3" and c["flavor"] == "mysql:9.7" for c in chosen.selected)
    assert not any(c["topology"].startswith("group") and c["flavor"].startswith("mariadb") for c in chosen.selected)
    reasons = set(chosen.not_applicable.values())
    assert any("galera" in reason and "mariadb design" in reason for reason in reasons)
    with pytest.raises(LabError, match="no selected cell can run"):
        plan(EXPERIMENTS / "replication-designs.yaml", {"topology": {"galera-3"}, "flavor": {"mysql:9.7"}})


def test_a_refused_format_says_how_it_was_applied_and_what_the_server_said() -> None:
    log = ("2026-12-02 12:58:31 0 [Note] WSREP: Loading provider\n"
           "2026-12-02 12:58:31 0 [ERROR] WSREP: Only binlog_format= 'ROW' is currently supported. Configured "
           "value: 'STATEMENT'. Please adjust your configuration.\n2026-12-02 12:58:31 0 [ERROR] Aborting\n")
    refusal = start_refusal(f"server x exited during start; last log lines:\n{log}")
    assert refusal.startswith("WSREP: Only binlog_format= 'ROW'")
    started = FormatOutcome("STATEMENT", applied_as="server option", refused_start=refusal)
    assert not started.runs and started.summary() == f"refused to start ({refusal})"
    reset = FormatOutcome("MIXED", refused={"dc1": "1231: no", "dc2": "1231: no"})
    assert reset.verdict == "refused" and reset.summary() == "refused (dc1, dc2: 1231: no)"
    assert reset.applied_as == "SET GLOBAL" and FormatOutcome("ROW").summary() == "accepted"
    warned = FormatOutcome("ROW", warnings={"dc1": "1287: deprecated"})
    assert warned.runs and warned.verdict == "accepted with warnings"
    rejected = FormatOutcome("STATEMENT", rejected_write="dc1: 3098: not compliant")
    assert not rejected.runs and rejected.verdict == "writes rejected"


def op(dc: str, **fields: Any) -> dict[str, Any]:
    return {"dc": dc, "kind": "update", "phase": "overlap", "start": 0.0, "end": 0.0, **fields}


def test_certification_rollbacks_count_marked_writes_per_dc() -> None:
    ops = [op("dc1"), op("dc2", rejected_by="certification", error="1213: Deadlock"),
           op("dc2", rejected_by="certification", error="1213: Deadlock"),
           {"dc": "dc2", "kind": "commit", "error": "1213: Deadlock", "rejected_by": "certification"},
           op("dc3", error="1062: Duplicate")]
    assert counts.certification_rollbacks(ops, ["dc1", "dc2", "dc3"]) == {
        "certification_rollbacks": 2, "certification_rollbacks_dc1": 0, "certification_rollbacks_dc2": 2,
        "certification_rollbacks_dc3": 0}


def test_write_latency_is_a_measured_value_per_dc() -> None:
    ops = [op("dc1", start=0.0, end=ms / 1000, rows_affected=1) for ms in range(1, 101)]
    ops += [op("dc2", start=1.0, end=1.5, rows_affected=0)]
    found = counts.write_latency(ops, ["dc1", "dc2", "dc3"])
    assert found["write_ms_p50_dc1"] == 50.0 and found["write_ms_p99_dc1"] == 99.0
    assert found["write_ms_p50_dc2"] == 500.0 and found["write_ms_p50_dc3"] is None
    assert found["applied_updates_per_s"] == round(100 / 1.5, 1)
    assert counts.write_latency([], ["dc1"]) == {"write_ms_p50_dc1": None, "write_ms_p99_dc1": None,
                                                 "applied_updates_per_s": None}


class FakeClient:
    """Answers the users workload's statements from a dict; the first UPDATE is rolled back by certification."""

    def __init__(self) -> None:
        self.tags: dict[str, Any] = {}
        self.row = {"id": 1, "first_name": "a", "version": 5}
        self.statements: list[tuple[str, dict[str, Any]]] = []
        self.guard = type("G", (), {"where": staticmethod(lambda k, v: f"{k} = %(key)s AND {v} = %(read)s")})()
        self.in_transaction = False

    def run(self, sql: str, params: dict, kind: str, **fields: Any) -> tuple[Outcome, list[dict]]:
        self.statements.append(("read", dict(self.tags)))
        return Outcome(1, None), [dict(self.row)]

    def write(self, kind: str, sql: str, params: dict, **fields: Any) -> Outcome:
        self.statements.append((f"update read={params['read']}", dict(self.tags)))
        first = sum(s[0].startswith("update") for s in self.statements) == 1
        if first:
            self.row["version"] = 9   # the other DC's write, certified first
            return Outcome(None, "3101: rollback", certification=True)
        return Outcome(1 if params["read"] == self.row["version"] else 0, None)


@pytest.mark.parametrize(("policy", "expected"), [
    ("none", ["read", "update read=5"]),
    ("reread", ["read", "update read=5", "read", "update read=9"]),
    ("blind", ["read", "update read=5", "update read=5"]),
])
def test_the_retry_policy_after_a_certification_rollback(policy: str, expected: list[str]) -> None:
    users = Users(UserSettings(rows=1, retry=policy), {})
    client = FakeClient()
    users.read_modify_write(client, 1, "b", version=10)  # type: ignore[arg-type]
    assert [s for s, _ in client.statements] == expected
    retried = [tags for s, tags in client.statements[2:]]
    assert all(tags == {"retry": policy, "attempt": 2} for tags in retried)
    assert client.tags == {}


def test_errno_of_reads_the_recorded_error() -> None:
    assert errno_of("1213: Deadlock found") == 1213
    assert errno_of(None) is None and errno_of("lost: no code") is None
    assert Attempt(1, "v", {"version": 1}, 2).new_version == 2


def test_the_design_comparison_counts_first_tries_of_the_transaction_overlaps() -> None:
    import pandas as pd

    from lab.results.answers import design_comparison

    def cell_row(name: str, design: str, mode: str, guard: str, **counts_: Any) -> dict[str, Any]:
        return {"run": "r", "cell": name, "design": design, "flavor": "mysql:9.7", "binlog_format": "ROW",
                "guard": guard, "mode": mode, "status": "completed", "binlog_format_outcome": "accepted (as x)",
                "diverged_after_overlap": 0, "stuck_rows": 0, "lost_updates": 0, **counts_}

    cells = pd.DataFrame([cell_row("a", "group multi-primary", "txn_dc2_first", "strict", lost_updates=1),
                          cell_row("b", "group multi-primary", "concurrent", "strict", write_ms_p50_dc1=3.0),
                          cell_row("c", "async", "txn_dc2_first", "none", diverged_after_overlap=2)])

    def write(cell: str, dc: str, **fields: Any) -> dict[str, Any]:
        return {"run": "r", "cell": cell, "type": "op", "kind": "update", "phase": "overlap", "dc": dc,
                "rows_affected": 1, "error": None, "rejected_by": None, "attempt": None, **fields}

    history = pd.DataFrame([
        write("a", "dc1"), write("a", "dc2", error="3101: rollback", rejected_by="certification", rows_affected=1),
        write("a", "dc2", attempt=2),                     # the retry: not a first try
        write("b", "dc1"),                                # concurrent: not a transaction overlap
        write("c", "dc1"), write("c", "dc2", rows_affected=0)])
    table = design_comparison(cells, history).set_index("design")
    group = table.loc["group multi-primary"]
    assert (group["conflict_writes"], group["applied"], group["rolled_back"], group["errnos"]) == (2, 1, 1, "3101")
    assert group["lost_strict"] == 1 and group["write_ms_p50_dc1"] == 3.0
    plain = table.loc["async"]
    assert (plain["applied"], plain["guard_rejected"], plain["diverged_none"]) == (1, 1, 2)


def test_the_run_timeseries_keeps_every_designs_columns(tmp_path: Path) -> None:
    import pandas as pd

    from lab.results.writer import append_rows

    path = tmp_path / "timeseries.csv"
    append_rows(path, pd.DataFrame([{"cell": "a", "t": 0.0, "link": "dc1->dc2", "io": "Yes"}]))
    append_rows(path, pd.DataFrame([{"cell": "b", "t": 0.0, "member": "dc1", "member_state": "ONLINE"}]))
    append_rows(path, pd.DataFrame([{"cell": "c", "t": 1.0, "link": "dc2->dc1"}]))
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(frame["cell"]) == ["a", "b", "c"]
    assert list(frame["member_state"]) == ["", "ONLINE", ""] and list(frame["link"]) == ["dc1->dc2", "", "dc2->dc1"]


def test_galera_nodes_start_one_at_a_time_founder_first_and_others_together() -> None:
    """Galera joiners starting together merged their views for about 5 s here, so they start one by one;
    every other design starts all its servers at once."""
    from lab.db import topology as topo
    from lab.db.designs import design_for

    galera = design_for(topo.load(topo.find("galera-3")))
    assert galera.start_waves() == [["dc1"], ["dc2"], ["dc3"]]
    assert galera.admitted({}, 2) is False            # nothing answers yet: wait for the wave itself
    for name in ("group-multi-primary", "active-active", "ring-3"):
        topology = topo.load(topo.find(name))
        assert design_for(topology).start_waves() == [list(topology.servers)]
        assert design_for(topology).admitted({}, 2) is False
