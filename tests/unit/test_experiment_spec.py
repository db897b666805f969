"""Experiment files: shipped ones load, bad ones fail with one line naming file and field, --only selects."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import experiments
from lab.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
BAD = sorted((Path(__file__).parent / "bad_experiments").glob("*.yaml"))


@pytest.mark.parametrize("path", sorted((ROOT / "experiments").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_experiments_load(path: Path) -> None:
    experiment = experiments.load(path)
    assert experiment.cells()


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_experiment_is_one_line_naming_the_field(path: Path) -> None:
    expected_field = path.read_text().splitlines()[0].removeprefix("# field: ").strip()
    with pytest.raises(ConfigError) as failure:
        experiments.load(path)
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {expected_field}:"), message


def test_wix_incident_matrix_and_selection() -> None:
    experiment = experiments.load(ROOT / "experiments" / "wix-incident.yaml")
    cells = experiment.cells()
    assert len(cells) == 3 * 3 * 3 * 2 * 2 * 2
    demo = experiments.select(cells, experiments.parse_only(
        ["mode=deterministic,version_order=dc1_newer,flavor=mysql:9.7,topology=active-passive|active-active"]))
    assert len(demo) == 18
    assert {c["topology"] for c in demo} == {"active-passive", "active-active"}
    assert len({experiments.cell_id(c) for c in cells}) == len(cells)


def test_only_rejects_unknown_keys() -> None:
    with pytest.raises(ValueError, match="colour"):
        experiments.parse_only(["colour=red"])


WORKLOAD_EXPERIMENTS = {
    "ticket-numbers": ({"strategy"},
                       {"duplicate_number", "lost_ticket", "number_owned_by_other_order", "gap"}),
    "put-patch-versions": ({"guard", "versions", "requests"}, {"version_identifies_content"}),
    "order-state-machine": ({"guard", "validation", "retries"}, {"approved_after_refund", "impossible_variant"}),
}


@pytest.mark.parametrize("name", sorted(WORKLOAD_EXPERIMENTS))
def test_workload_experiment_cells_are_unique_and_complete(name: str) -> None:
    """Every cell of a shipped workload experiment has its own id and names every parameter key."""
    experiment = experiments.load(ROOT / "experiments" / f"{name}.yaml")
    assert isinstance(experiment, experiments.WorkloadExperiment)
    cells = experiment.cells()
    assert len(cells) == 96
    assert len({experiments.cell_id(c) for c in cells}) == len(cells)
    assert all(list(cell) == experiment.parameter_keys() for cell in cells)


@pytest.mark.parametrize("name", sorted(WORKLOAD_EXPERIMENTS))
def test_workload_parameter_keys_include_the_knobs(name: str) -> None:
    knobs, _ = WORKLOAD_EXPERIMENTS[name]
    keys = experiments.load(ROOT / "experiments" / f"{name}.yaml").parameter_keys()
    assert knobs <= set(keys)
    assert {"topology", "binlog_format", "flavor", "mode", "exec_mode"} <= set(keys)
    assert len(keys) == len(set(keys))


def test_tickets_has_no_guard_dimension() -> None:
    """The tickets workload guards nothing, so its cells carry no guard."""
    experiment = experiments.load(ROOT / "experiments" / "ticket-numbers.yaml")
    assert "guard" not in experiment.parameter_keys()
    assert {c["strategy"] for c in experiment.cells()} == {"next", "auto_increment", "ranges", "uuid"}


@pytest.mark.parametrize("name", sorted(WORKLOAD_EXPERIMENTS))
def test_workload_summary_columns_include_every_invariant(name: str) -> None:
    _, invariants = WORKLOAD_EXPERIMENTS[name]
    experiment = experiments.load(ROOT / "experiments" / f"{name}.yaml")
    columns = experiment.summary_columns()
    assert {f"inv_{invariant}" for invariant in invariants} <= set(columns)
    built = experiment.build(experiment.cells()[0])
    assert {f"inv_{invariant.name}" for invariant in built.invariants()} == {f"inv_{i}" for i in invariants}
    assert {*built.count_columns, "workload"} <= set(columns)


def test_only_accepts_workload_knobs() -> None:
    assert experiments.parse_only(["strategy=next|uuid"]) == {"strategy": {"next", "uuid"}}
    assert experiments.parse_only(["requests=put_only,retries=2"]) == {"requests": {"put_only"}, "retries": {"2"}}
    with pytest.raises(ValueError, match="strategee"):
        experiments.parse_only(["strategee=next"])


def test_only_selects_workload_cells_by_knob() -> None:
    experiment = experiments.load(ROOT / "experiments" / "ticket-numbers.yaml")
    chosen = experiments.select(experiment.cells(), experiments.parse_only(["strategy=next|uuid,binlog_format=row"]))
    assert len(chosen) == 2 * 2 * 2 * 2   # flavors x modes x exec modes x the two strategies
    assert {(c["strategy"], c["binlog_format"]) for c in chosen} == {("next", "ROW"), ("uuid", "ROW")}
