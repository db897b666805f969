"""Timeline cells on real servers: a seeded plan replays identically, faults are recorded and healed,
and the run yields a divergence time series. Outcomes themselves are not asserted."""

from __future__ import annotations

from pathlib import Path

from lab import experiments
from lab.db.lab import Lab
from lab.history import History
from lab.results.writer import CellOutcome
from lab.runner import Cell
from lab.testing import LabPool

TIMELINE = """
kind: timeline
name: tiny-timeline
seed: 9
matrix: {topology: [active-active], binlog_format: [ROW], guard: [strict], flavor: ["mysql:9.7"]}
traffic:
  rows: 20
  duration: 4
  rate: 50
  clients_per_dc: 1
  keys: {distribution: uniform}
  shift: {from: dc1, to: dc2, start: 1, overlap: 2}
timeline:
  - {at: 1, for: 1.5, fault: {type: stop_thread, link: dc1->dc2, thread: sql}}
sample_interval: 0.5
"""


def run_once(lab_pool, flavor: str, tmp_path: Path, name: str) -> tuple[Lab, History, CellOutcome]:
    path = tmp_path / "tiny.yaml"
    path.write_text(TIMELINE)
    experiment = experiments.load(path)
    parameters = {**experiment.cells()[0], "flavor": flavor}
    lab = lab_pool.get("active-active", flavor, "ROW")
    history = History(tmp_path / f"{name}.jsonl", experiment.name)
    history.start_cell(experiments.cell_id(parameters), parameters)
    outcome = Cell.of(lab, experiment, parameters, history, experiment.seed, source=str(path)).run()
    return lab, history, outcome


def sequence(history: History) -> list[tuple]:
    ops = [op for op in history.operations() if "planned" in op]
    return sorted((op["client"], op["planned"], op["kind"], op["key"]) for op in ops)


def test_seeded_schedule_replays_identically(lab_pool: LabPool, flavor: str, tmp_path: Path) -> None:
    _, first, _ = run_once(lab_pool, flavor, tmp_path, "first")
    _, second, _ = run_once(lab_pool, flavor, tmp_path, "second")
    assert sequence(first) and sequence(first) == sequence(second)


def test_faults_recorded_healed_and_sampled(lab_pool: LabPool, flavor: str, tmp_path: Path) -> None:
    lab, history, outcome = run_once(lab_pool, flavor, tmp_path, "faults")
    faults = [r for r in history.records if r["type"] == "fault"]
    assert [r["event"] for r in faults] == ["start", "heal"]
    assert faults[1]["time"] > faults[0]["time"]
    status = next(s for link, s in lab.link_statuses() if link.source == "dc1" and link.replica == "dc2")
    assert status is not None and status.running  # healed: the applier runs again
    series = outcome.timeseries
    assert series is not None and not series.empty
    assert series["t"].is_monotonic_increasing
    during = series[series["active_faults"].fillna("").str.contains("stop_thread")]
    assert not during.empty
    held = during[during["link"] == "dc1->dc2"]
    assert (held["sql"] == "No").any()  # the sampler saw the stopped applier while the fault was active
    assert outcome.summary["status"] == "completed"
