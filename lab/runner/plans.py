"""Each experiment kind as a list of steps: what one cell of its matrix does, in order.

    incident   seed, the single leader's writes, the overlap (appliers held while both DCs write every
               conflict row from the same read, or concurrent traffic), quiesce, check, the leader's
               write, check (the story ends), probe, check, and the fix with its probe and check
    timeline   seed, traffic shifting between DCs with the fault timeline, heal, check (the story ends),
               probe, check, and the fix
    workload   seed, IDEMPOTENT links if the cell says so, held appliers in deterministic mode, traffic
               with the fault timeline, check (the story ends), and a probe where the workload can

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


def plan_cell(experiment: AnyExperiment, parameters: dict[str, str], seed: int, dcs: list[str]) -> CellPlan:
    """The plan of one cell of `experiment`; `dcs` are the lab's DCs in topology order."""
    if isinstance(experiment, Experiment):
        return incident(experiment, parameters, seed)
    if isinstance(experiment, TimelineExperiment):
        return timeline(experiment, parameters, seed)
    return workload(experiment, parameters, seed, dcs)


def fix_steps(fix: Fix | None, leader: str) -> list[steps.Step]:
    if fix is None:
        return []
    return [steps.Fix(fix), steps.Probe("after_probe", leader, label="fix", phase="after_fix_traffic"),
            steps.Check("after_fix")]


# --- incident ------------------------------------------------------------------------------------
def incident(experiment: Experiment, parameters: dict[str, str], seed: int) -> CellPlan:
    scenario = experiment.scenario
    users = Users(UserSettings(table=scenario.table, keys=scenario.conflict_rows + scenario.control_rows,
                               initial_value=scenario.initial_value, initial_version=scenario.initial_version),
                  parameters)
    leader_writes = [PlannedOp(n, 0.0, "dc1", "leader-dc1", "rmw", key,
                               {"value": f"leader-{round_number}", "version_step": 1000})
                     for n, (round_number, key) in enumerate(
                         (r, k) for r in range(scenario.leader_updates) for k in scenario.control_rows)]
    after = scenario.leader_after
    after_writes = [PlannedOp(n, 0.0, after, f"after-{after}", "rmw", write.row,
                              {"value": write.value, "version_step": write.version_increment})
                    for n, write in enumerate(scenario.leader_writes)]
    if parameters["mode"] == "deterministic":
        overlap: list[steps.Step] = [steps.HoldAppliers("overlap"),
                                     steps.Script("overlap", conflicting_writes(experiment, parameters), False),
                                     steps.ReleaseAppliers(), steps.Quiesce()]
        skews: dict[str, int] = {}
    else:
        settings = scenario.concurrent
        overlap = [steps.Traffic("overlap", concurrent_plan(experiment, seed), settings.seconds)]
        skews = {newer_dc(parameters): settings.clock_skew_ms}
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
    ], clock_skews=skews, fix=experiment.fix)


def newer_dc(parameters: dict[str, str]) -> str:
    return "dc1" if parameters["version_order"] == "dc1_newer" else "dc2"


def conflicting_writes(experiment: Experiment, parameters: dict[str, str]) -> tuple[PlannedOp, ...]:
    """Per conflict row: both DCs read it, then each writes its own value with its own version."""
    scenario = experiment.scenario
    versions = {dc: write.version for dc, write in scenario.overlap.items()}
    if parameters["version_order"] == "dc2_newer":
        versions = {"dc1": versions["dc2"], "dc2": versions["dc1"]}
    ops: list[PlannedOp] = []
    for key in scenario.conflict_rows:
        ops += [PlannedOp(len(ops) + i, 0.0, dc, f"app-{dc}", "read", key) for i, dc in enumerate(("dc1", "dc2"))]
        ops += [PlannedOp(len(ops) + i, 0.0, dc, f"app-{dc}", "write", key,
                          {"value": scenario.overlap[dc].value, "version": versions[dc]})
                for i, dc in enumerate(("dc1", "dc2"))]
    return tuple(ops)


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
               steps.Check("after_run", story_ends=True)]
    if model.probes:
        chosen += [steps.Probe("after_run", dcs[0]), steps.Check("after_probe")]
    return CellPlan(model, chosen, timeline=experiment.timeline, clock_skews=experiment.clock_skew_ms,
                    least_timeout=TRAFFIC_TIMEOUT_S)
