"""Every experiment kind becomes steps of the one cell: which steps, in which order, with which writes."""

from __future__ import annotations

from pathlib import Path

from lab import experiments
from lab.runner import plan_cell, steps
from lab.runner.plans import concurrent_plan, conflicting_writes
from lab.workloads.users import Users

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def kinds(plan_steps: list) -> list[str]:
    return [type(step).__name__ for step in plan_steps]


def incident_cell(**chosen: str) -> dict[str, str]:
    experiment = experiments.load(EXPERIMENTS / "wix-incident.yaml")
    return next(c for c in experiment.cells() if all(c[k] == v for k, v in chosen.items()))


def test_the_deterministic_incident_holds_the_appliers_around_the_conflicting_writes() -> None:
    experiment = experiments.load(EXPERIMENTS / "wix-incident.yaml")
    plan = plan_cell(experiment, incident_cell(mode="deterministic"), 7, ["dc1", "dc2"])
    assert isinstance(plan.workload, Users) and plan.workload.table == "users"
    assert kinds(plan.steps) == ["Seed", "Script", "HoldAppliers", "Script", "ReleaseAppliers", "Quiesce", "Check",
                                 "Script", "Check", "Probe", "Check", "Fix", "Probe", "Check"]
    checks = [step.name for step in plan.steps if isinstance(step, steps.Check)]
    assert checks == ["after_overlap", "after_leader_write", "after_probe", "after_fix"]
    assert [step.story_ends for step in plan.steps if isinstance(step, steps.Check)] == [False, True, False, False]
    overlap = next(step for step in plan.steps if isinstance(step, steps.Script) and step.phase == "overlap")
    assert not overlap.catch_up  # the appliers are held: nothing to wait for until they are released
    leader = next(step for step in plan.steps if isinstance(step, steps.Script) and step.phase == "single_leader")
    assert [(op.key, op.args["value"]) for op in leader.ops[:4]] == [(3, "leader-0"), (4, "leader-0"),
                                                                     (5, "leader-0"), (3, "leader-1")]


def test_both_dcs_read_every_conflict_row_before_either_writes_it() -> None:
    experiment = experiments.load(EXPERIMENTS / "wix-incident.yaml")
    for order, newer in (("dc1_newer", "dc1"), ("dc2_newer", "dc2")):
        ops = conflicting_writes(experiment, incident_cell(mode="deterministic", version_order=order))
        assert [(op.kind, op.dc, op.key) for op in ops[:4]] == [("read", "dc1", 1), ("read", "dc2", 1),
                                                               ("write", "dc1", 1), ("write", "dc2", 1)]
        versions = {op.dc: op.args["version"] for op in ops if op.kind == "write"}
        assert versions[newer] == max(versions.values()) and len(set(versions.values())) == 2
        assert {op.args["value"] for op in ops if op.kind == "write" and op.dc == "dc1"} == {"Peter"}


def test_the_concurrent_incident_is_traffic_from_a_seeded_plan() -> None:
    experiment = experiments.load(EXPERIMENTS / "wix-incident.yaml")
    cell = incident_cell(mode="concurrent", version_order="dc2_newer")
    plan = plan_cell(experiment, cell, 7, ["dc1", "dc2"])
    traffic = next(step for step in plan.steps if isinstance(step, steps.Traffic))
    assert traffic.phase == "overlap" and traffic.sampling is None
    assert plan.clock_skews == {"dc2": experiment.scenario.concurrent.clock_skew_ms}
    again = concurrent_plan(experiment, 7)
    assert {c: [(o.at, o.key) for o in ops] for c, ops in traffic.plans.items()} == \
        {c: [(o.at, o.key) for o in ops] for c, ops in again.items()}
    settings = experiment.scenario.concurrent
    assert len(traffic.plans) == 2 * settings.clients_per_dc
    assert all({op.key for op in ops} <= set(experiment.scenario.conflict_rows) for ops in traffic.plans.values())


def test_a_timeline_is_the_same_cell_with_traffic_and_a_fault_schedule() -> None:
    experiment = experiments.load(EXPERIMENTS / "partition-during-shift.yaml")
    plan = plan_cell(experiment, experiment.cells()[0], 101, ["dc1", "dc2"])
    assert kinds(plan.steps) == ["Seed", "Traffic", "HealFaults", "Check", "Probe", "Check", "Fix", "Probe", "Check"]
    assert plan.timeline == experiment.timeline and plan.fix == experiment.fix
    probe = next(step for step in plan.steps if isinstance(step, steps.Probe))
    assert probe.dc == experiment.traffic.shift.target


def test_a_workload_cell_holds_appliers_and_switches_exec_mode_as_its_parameters_say() -> None:
    experiment = experiments.load(EXPERIMENTS / "ticket-numbers.yaml")
    held = next(c for c in experiment.cells() if c["mode"] == "deterministic" and c["exec_mode"] == "IDEMPOTENT")
    plan = plan_cell(experiment, held, 1, ["dc1", "dc2"])
    # tickets cannot probe
    assert kinds(plan.steps) == ["Seed", "ExecMode", "HoldAppliers", "Traffic", "HealFaults", "Check"]
    free = next(c for c in experiment.cells() if c["mode"] == "concurrent" and c["exec_mode"] == "STRICT")
    assert kinds(plan_cell(experiment, free, 1, ["dc1", "dc2"]).steps) == ["Seed", "Traffic", "HealFaults", "Check"]
    documents = experiments.load(EXPERIMENTS / "put-patch-versions.yaml")
    plan = plan_cell(documents, documents.cells()[0], 1, ["dc1", "dc2"])
    assert kinds(plan.steps)[-2:] == ["Probe", "Check"]


def test_the_users_workload_plans_the_same_operations_for_the_same_seed() -> None:
    users = Users(Users.settings_model.model_validate({"rows": 10, "operations_per_client": 5,
                                                       "mix": {"rmw": 1, "insert": 1, "delete": 1}}), {})
    from lab.workloads import Slot

    slots = [Slot("dc1", "dc1-c0"), Slot("dc2", "dc2-c0")]
    first, second = users.plan(slots, 2.0, 3), users.plan(slots, 2.0, 3)
    assert first == second and sum(len(ops) for ops in first.values()) == 10
    assert {op.kind for ops in first.values() for op in ops} <= {"rmw", "insert", "delete"}
    assert all(op.key is None for ops in first.values() for op in ops if op.kind == "insert")


def test_the_incident_table_is_a_workload_that_workload_experiments_can_name(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_text("kind: workload\nname: users-overlap\nworkload: {name: users, rows: 20, operations_per_client: 4}\n"
                    "matrix: {topology: [active-active], binlog_format: [ROW], flavor: ['mariadb:10.11'],"
                    " guard: [strict, gte], mode: [deterministic]}\n")
    experiment = experiments.load(path)
    assert [cell["guard"] for cell in experiment.cells()] == ["strict", "gte"]
    plan = plan_cell(experiment, experiment.cells()[0], 1, ["dc1", "dc2"])
    assert kinds(plan.steps) == ["Seed", "HoldAppliers", "Traffic", "HealFaults", "Check", "Probe", "Check"]
    assert "overwritten_by_rmw" in experiment.summary_columns()
