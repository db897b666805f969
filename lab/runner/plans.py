"""Each experiment kind as a list of steps: what one cell of its matrix does, in order.

    incident   seed, the single leader's writes, the overlap (appliers held while both DCs write every
               conflict row from the same read, or concurrent traffic), quiesce, check, the leader's
               write, check (the story ends), probe, check, and the fix with its probe and check
    timeline   seed, traffic shifting between DCs with the fault timeline, heal, check (the story ends),
               probe, check, and the fix
    workload   seed, IDEMPOTENT links if the cell says so, held appliers in deterministic mode, traffic
               with the fault timeline, heal, check (the story ends), and a probe where the workload can

Every kind runs the same `Cell`, so a step means the same thing wherever it appears.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from lab.experiments import AnyExperiment, Experiment, Fix, TimelineEntry, TimelineExperiment, WorkloadExperiment
from lab.runner import steps
from lab.workloads import Slot, Workload
from lab.workloads.plan import PlannedOp, plan
from lab.workloads.users import Users, UserSettings

SHARE_WINDOW_S = 1.0
TRAFFIC_TIMEOUT_S = 120.0   # least catch-up timeout after traffic and faults, which build up lag


@dataclass
class CellPlan:
    """What a cell runs: its workload, its steps, the fault timeline and the clocks' starting skews."""

    workload: Workload
    steps: list[steps.Step]
    timeline: list[TimelineEntry] = field(default_factory=list)
    clock_skews: dict[str, int] = field(default_factory=dict)
    fix: Fix | None = None
    least_timeout: float = 0.0
    overlap: str | None = None   # how the incident's overlap was forced (cells.csv `overlap`)


def plan_cell(experiment: AnyExperiment, parameters: dict[str, str], seed: int, dcs: list[str],
              certifying: bool = False) -> CellPlan:
    """The plan of one cell of `experiment`; `dcs` are the lab's DCs in topology order; `certifying`: the lab's
    design certifies writes, so there are no appliers to hold."""
    if isinstance(experiment, Experiment):
        return incident(experiment, parameters, seed, certifying)
    if isinstance(experiment, TimelineExperiment):
        return timeline(experiment, parameters, seed)
    return workload(experiment, parameters, seed, dcs)


def fix_steps(fix: Fix | None, leader: str) -> list[steps.Step]:
    if fix is None:
        return []
    return [steps.Fix(fix), steps.Probe("after_probe", leader, label="fix", phase="after_fix_traffic"),
            steps.Check("after_fix")]


# --- incident ------------------------------------------------------------------------------------
def overlap_of(mode: str, certifying: bool) -> str:
    """How a cell's `mode` forces the overlap on its design: appliers are held only where there are appliers."""
    if mode == "deterministic":
        return "txn_dc2_first" if certifying else "held_appliers"
    return mode


def incident(experiment: Experiment, parameters: dict[str, str], seed: int, certifying: bool = False) -> CellPlan:
    scenario = experiment.scenario
    users = Users(UserSettings(table=scenario.table, keys=scenario.conflict_rows + scenario.control_rows,
                               initial_value=scenario.initial_value, initial_version=scenario.initial_version,
                               retry=scenario.retry),
                  parameters)
    leader_writes = [PlannedOp(n, 0.0, "dc1", "leader-dc1", "rmw", key,
                               {"value": f"leader-{round_number}", "version_step": 1000})
                     for n, (round_number, key) in enumerate(
                         (r, k) for r in range(scenario.leader_updates) for k in scenario.control_rows)]
    after = scenario.leader_after
    after_writes = [PlannedOp(n, 0.0, after, f"after-{after}", "rmw", write.row,
                              {"value": write.value, "version_step": write.version_increment})
                    for n, write in enumerate(scenario.leader_writes)]
    how = overlap_of(parameters["mode"], certifying)
    skews: dict[str, int] = {}
    if how == "held_appliers":
        overlap: list[steps.Step] = [steps.HoldAppliers("overlap"),
                                     steps.Script("overlap", conflicting_writes(experiment, parameters), False),
                                     steps.ReleaseAppliers(), steps.Quiesce()]
    elif how == "concurrent":
        settings = scenario.concurrent
        overlap = [steps.Traffic("overlap", concurrent_plan(experiment, seed), settings.seconds)]
        skews = {newer_dc(parameters): settings.clock_skew_ms}
    elif how == "stale_read":
        first, second = interleaved_writes(experiment, parameters, how)
        overlap = [steps.Script("overlap", first), steps.Script("overlap", second)]
    else:
        overlap = [steps.Script("overlap", interleaved_writes(experiment, parameters, how)[0])]
    return CellPlan(users, [
        steps.Seed("dc1"),
        steps.Script("single_leader", tuple(leader_writes)),
        *overlap,
        steps.Check("after_overlap"),
        steps.Script("leader_after", tuple(after_writes)),
        steps.Check("after_leader_write", story_ends=True),
        steps.Probe("after_leader_write", after),
        steps.Check("after_probe"),
        *fix_steps(experiment.fix, after),
    ], clock_skews=skews, fix=experiment.fix, overlap=how)


def newer_dc(parameters: dict[str, str]) -> str:
    return "dc1" if parameters["version_order"] == "dc1_newer" else "dc2"


def overlap_versions(experiment: Experiment, parameters: dict[str, str]) -> dict[str, int]:
    versions = {dc: write.version for dc, write in experiment.scenario.overlap.items()}
    if parameters["version_order"] == "dc2_newer":
        versions = {"dc1": versions["dc2"], "dc2": versions["dc1"]}
    return versions


def conflicting_writes(experiment: Experiment, parameters: dict[str, str]) -> tuple[PlannedOp, ...]:
    """Per conflict row: both DCs read it, then each writes its own value with its own version."""
    scenario, versions = experiment.scenario, overlap_versions(experiment, parameters)
    ops: list[PlannedOp] = []
    for key in scenario.conflict_rows:
        ops += [PlannedOp(len(ops) + i, 0.0, dc, f"app-{dc}", "read", key) for i, dc in enumerate(("dc1", "dc2"))]
        ops += [PlannedOp(len(ops) + i, 0.0, dc, f"app-{dc}", "write", key,
                          {"value": scenario.overlap[dc].value, "version": versions[dc]})
                for i, dc in enumerate(("dc1", "dc2"))]
    return tuple(ops)


def interleaved_writes(experiment: Experiment, parameters: dict[str, str],
                       how: str) -> tuple[tuple[PlannedOp, ...], tuple[PlannedOp, ...]]:
    """The overlap forced with transactions, for designs where appliers cannot be held (and for comparison on
    every other design). Per conflict row both DCs read it first; then
        txn_dc2_first  DC2 begins and writes; DC1 writes (autocommit); DC2 commits
        txn_dc1_first  the same with the DCs exchanged
        stale_read     DC1 writes; (second script, after a catch-up) DC2 writes from its stale read
    """
    scenario, versions = experiment.scenario, overlap_versions(experiment, parameters)
    first: list[PlannedOp] = []
    second: list[PlannedOp] = []

    def op(into: list[PlannedOp], dc: str, kind: str, key: int) -> None:
        args = {"value": scenario.overlap[dc].value, "version": versions[dc]} if kind == "write" else {}
        into.append(PlannedOp(len(first) + len(second), 0.0, dc, f"app-{dc}", kind, key, args))

    opener, other = ("dc1", "dc2") if how == "txn_dc1_first" else ("dc2", "dc1")
    for key in scenario.conflict_rows:
        op(first, "dc1", "read", key)
        op(first, "dc2", "read", key)
        if how == "stale_read":
            op(first, "dc1", "write", key)
            op(second, "dc2", "write", key)
            continue
        for dc, kind in ((opener, "begin"), (opener, "write"), (other, "write"), (opener, "commit")):
            op(first, dc, kind, key)
    return tuple(first), tuple(second)


def concurrent_plan(experiment: Experiment, seed: int) -> dict[str, list[PlannedOp]]:
    """Each client writes a random conflict row every `clients_per_dc / rate_per_dc` seconds, for `seconds`."""
    settings, rows = experiment.scenario.concurrent, experiment.scenario.conflict_rows
    interval = settings.clients_per_dc / settings.rate_per_dc
    count = math.ceil(settings.seconds / interval)
    plans: dict[str, list[PlannedOp]] = {}
    for dc in ("dc1", "dc2"):
        for index in range(settings.clients_per_dc):
            rng, client = random.Random(f"{seed}:{dc}:{index}"), f"app-{dc}-{index}"
            plans[client] = [PlannedOp(number, number * interval, dc, client, "rmw", rng.choice(rows),
                                       {"value": f"{dc}-{index}-{number}"}) for number in range(count)]
    return plans


# --- timeline ------------------------------------------------------------------------------------
def timeline(experiment: TimelineExperiment, parameters: dict[str, str], seed: int) -> CellPlan:
    traffic = experiment.traffic
    users = Users(UserSettings(table=traffic.table, rows=traffic.rows, initial_value="seed"), parameters)
    leader = traffic.shift.target
    return CellPlan(users, [
        steps.Seed(traffic.shift.source),
        steps.Traffic("traffic", plan(traffic, seed), traffic.duration, traffic.closed_loop,
                      steps.Sampling(experiment.sample_interval, traffic.shift.shares)),
        steps.HealFaults(),
        steps.Check("after_run", story_ends=True),
        steps.Probe("after_run", leader),
        steps.Check("after_probe"),
        *fix_steps(experiment.fix, leader),
    ], timeline=experiment.timeline, clock_skews=experiment.clock_skew_ms, fix=experiment.fix,
        least_timeout=TRAFFIC_TIMEOUT_S)


# --- workload ------------------------------------------------------------------------------------
def slots(parameters: dict[str, str], dcs: list[str], per_dc: int) -> list[Slot]:
    """The clients to start. Interleaved by DC, so a workload pairing neighbours pairs different DCs."""
    if parameters.get("mode") == "single_dc":
        return [Slot(dcs[0], f"{dcs[0]}-c{i}") for i in range(per_dc * len(dcs))]
    return [Slot(dc, f"{dc}-c{i}") for i in range(per_dc) for dc in dcs]


def planned_shares(plans: dict[str, list[PlannedOp]], dcs: list[str]) -> Callable[[float], dict[str, float]]:
    """Each DC's share of the operations planned within a second of time t (the traffic share over time)."""
    planned = sorted((op.at, op.dc) for ops in plans.values() for op in ops)

    def shares(t: float) -> dict[str, float]:
        near = [dc for at, dc in planned if abs(at - t) <= SHARE_WINDOW_S]
        return {dc: (near.count(dc) / len(near) if near else 0.0) for dc in dcs}

    return shares


def workload(experiment: WorkloadExperiment, parameters: dict[str, str], seed: int, dcs: list[str]) -> CellPlan:
    model = experiment.build(parameters)
    duration = experiment.traffic.duration
    plans = model.plan(slots(parameters, dcs, experiment.traffic.clients_per_dc), duration, seed)
    chosen: list[steps.Step] = [steps.Seed(dcs[0])]
    if parameters.get("exec_mode") == "IDEMPOTENT":
        chosen.append(steps.ExecMode("IDEMPOTENT"))
    if parameters.get("mode") == "deterministic":
        chosen.append(steps.HoldAppliers("traffic"))
    chosen += [steps.Traffic("traffic", plans, duration,
                             sampling=steps.Sampling(experiment.sample_interval, planned_shares(plans, dcs))),
               steps.HealFaults(),   # a fault planned to outlast the traffic is healed before the rows are read
               steps.Check("after_run", story_ends=True)]
    if model.probes:
        chosen += [steps.Probe("after_run", dcs[0]), steps.Check("after_probe")]
    return CellPlan(model, chosen, timeline=experiment.timeline, clock_skews=experiment.clock_skew_ms,
                    least_timeout=TRAFFIC_TIMEOUT_S)
