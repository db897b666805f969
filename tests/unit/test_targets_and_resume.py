"""Fault names resolved against a topology, overlapping fault windows, and what a resume keeps: without servers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from lab.db import topology
from lab.errors import LabError
from lab.experiments.common import TimelineEntry, check_timeline
from lab.faults.spec import parse
from lab.faults.targets import Names, TargetError, overlapping
from lab.history import History, keep_cells
from lab.results import schema
from lab.results.writer import CellOutcome, RunDirectory
from lab.yamlfile import FieldProblem

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def names() -> Names:
    return Names.of(topology.load(ROOT / "topologies" / "active-active-read-replica.yaml"))


def test_names_resolve_dcs_servers_and_links(names: Names) -> None:
    assert sorted(names.group("dc1", "between")) == ["dc1", "dc1-ro"]   # a DC is every server in it
    assert names.group("server:dc1", "between") == ["dc1"]
    assert names.server("dc2", "server") == "dc2" and names.link("dc1->dc1-ro", "link") == ("dc1", "dc1-ro")
    with pytest.raises(TargetError, match="no link dc2->dc1-ro"):
        names.link("dc2->dc1-ro", "link")
    with pytest.raises(TargetError, match="no DC named 'dc1-ro'"):
        names.dc("dc1-ro", "dc")
    with pytest.raises(TargetError, match="both sides contain dc1-ro"):
        names.check(parse({"type": "partition", "between": ["dc1", "dc1-ro"]}, "x.yaml"))


def test_isolate_needs_a_second_server() -> None:
    alone = Names({"dc1": "dc1"}, {"dc1": "dc1"}, ())
    with pytest.raises(TargetError, match="dc1 is the topology's only server") as raised:
        alone.check(parse({"type": "isolate", "dc": "dc1"}, "x.yaml"))
    assert raised.value.field == "dc" and "two servers or more" in raised.value.fix
    pair = Names({"dc1": "dc1", "dc2": "dc2"}, {"dc1": "dc1", "dc2": "dc2"}, ())
    pair.check(parse({"type": "isolate", "server": "dc2"}, "x.yaml"))
    assert pair.others("dc2", "server") == ["dc1"]


def test_an_experiment_isolating_a_lone_server_fails_at_load(tmp_path: Path) -> None:
    lone = tmp_path / "lone.yaml"
    lone.write_text("name: lone\nreplication: one-way\nservers:\n  dc1: {}\nlinks: []\n")
    timeline = [TimelineEntry.model_validate({"at": 1, "fault": {"type": "isolate", "dc": "dc1"}})]
    with pytest.raises(FieldProblem, match="only server; there is nobody to cut it off from in topology") as raised:
        check_timeline(timeline, [str(lone)])
    assert raised.value.field == "timeline.0.fault.dc"


def test_faults_that_hold_the_same_thing_may_not_overlap() -> None:
    crash = parse({"type": "crash", "server": "dc2"}, "x.yaml").holds()
    pause = parse({"type": "pause", "dc": "dc2"}, "x.yaml").holds()
    assert crash == pause == ["server:dc2"]
    assert overlapping([(0, 1.0, 6.0, crash), (1, 3.0, float("inf"), pause)]) == (0, 1, "server:dc2")
    assert overlapping([(0, 1.0, 3.0, crash), (1, 3.0, 9.0, pause)]) is None   # one heals as the other starts
    partition = parse({"type": "partition", "between": ["dc1", "dc2"]}, "x.yaml").holds()
    assert overlapping([(0, 0.0, 9.0, crash), (1, 1.0, 5.0, partition)]) is None


def test_keep_cells_sets_aside_what_a_killed_run_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    history = History(path, "exp")
    history.start_cell("a", {})
    history.event("check", name="after_run")
    history.start_cell("b", {})
    history.event("seed")
    history.close()
    path.write_text(path.read_text() + '{"seq": 5, "type": "op", "cel')   # the line kill -9 cut off
    assert keep_cells(path, {"a"}) == 5
    kept = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["cell"] for r in kept] == ["a", "a"]
    aside = (tmp_path / "history.interrupted.jsonl").read_text().splitlines()
    assert len(aside) == 3 and aside[-1].endswith('"cel')


def test_a_run_directory_reopens_with_its_recorded_cells_and_sets_the_rest_aside(tmp_path: Path) -> None:
    source = tmp_path / "exp.yaml"
    source.write_text("name: exp\n")
    cells = [{"topology": "t", "cell": name} for name in ("one", "two")]
    run = RunDirectory.create(tmp_path / "results", "exp", source, 1, cells, ["lab"], ["topology"], "incident")
    run.record("one", CellOutcome({"cell": "one", "status": "completed", "topology": "t"}, pd.DataFrame()))
    (run.path / schema.CELLS_DIR / "two").mkdir()                    # a cell the kill cut short
    (run.path / schema.CELLS_DIR / "two" / schema.DIVERGENCE_FILE).write_text("key,check\n")
    reopened = RunDirectory.open(run.path)
    assert reopened.recorded == ["one"]
    assert reopened.set_aside() == ["two"]
    assert (run.path / "interrupted" / "two" / schema.DIVERGENCE_FILE).exists()
    assert reopened.meta["cells_done"] == 1 and reopened.meta["resumed"][0]["rerun"] == ["two"]


def test_only_a_run_of_this_format_can_resume(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text(json.dumps({"results_format": 1}))
    with pytest.raises(LabError, match="results format 1"):
        RunDirectory.open(tmp_path)
    with pytest.raises(LabError, match=r"cannot read run\.json"):
        RunDirectory.open(tmp_path / "missing")
