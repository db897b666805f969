"""Loader edge cases on tiny hand-written run directories: formats, empty runs, damaged files, faults, samples.

`write_run` lays out a results-format-1 run (the layout before the single cell engine), so these tests
also show that such a run still loads; `write_format_2` rewrites its divergence table as format 2 writes it.

The real-run behaviour (dtypes, counts against history.jsonl, parameters) is tested in
tests/integration/test_results.py; here only what a real run cannot easily produce.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from lab import results
from lab.results.schema import CELL_COLUMN_NAMES, RESULTS_FORMAT

CELL = "active-active.STATEMENT.strict.mariadb-10.11.deterministic.dc1_newer"
PARAMETERS = {"topology": "active-active", "binlog_format": "STATEMENT", "guard": "strict",
              "flavor": "mariadb:10.11", "mode": "deterministic", "version_order": "dc1_newer"}
T0 = 1_795_000_000.0


def write_run(root: Path, name: str = "exp-20260101T000000Z", *, results_format: object = 1,
              started: float = T0, history: list[dict] | None = None, cells: bool = True) -> Path:
    """A run directory as `lab run` laid it out in results format 1, with one cell unless `cells=False`."""
    path = root / name
    (path / "cells").mkdir(parents=True)
    meta = {"results_format": results_format, "lab_version": "9.9.9", "experiment": "exp", "seed": 1,
            "started": started, "finished": started + 5, "completed": True, "cells_planned": 1, "cells_done": 1,
            "cells_failed": 0}
    if results_format is None:
        del meta["results_format"]
    (path / "run.json").write_text(json.dumps(meta))
    (path / "experiment.yaml").write_text(
        "matrix:\n  topology: [active-passive, active-active]\n  binlog_format: [STATEMENT, ROW]\n"
        "  guard: [strict, gte]\n  flavor: ['mariadb:10.11']\n  mode: [deterministic]\n  version_order: [dc1_newer]\n")
    if not cells:
        return path
    summary = {**PARAMETERS, "cell": CELL, "status": "completed", "error": "", "diverged_after_overlap": 1,
               "stuck_rows": 1, "lost_updates": 0, "diverged_after_fix": 1, "seconds": 1.5}
    row = {column: summary.get(column, "") for column in CELL_COLUMN_NAMES}
    pd.DataFrame([row]).to_csv(path / "cells.csv", index=False)
    (path / "cells" / CELL).mkdir()
    (path / "cells" / CELL / "status.json").write_text(json.dumps({"replication_errors": []}))
    (path / "cells" / CELL / "divergence.csv").write_text(
        "id,check,kind,dcs,verdict,lost_update_on_key,dc1.present,dc1.id,dc1.first_name,dc1.version,"
        "dc2.present,dc2.id,dc2.first_name,dc2.version\n"
        "2,after_overlap,values_differ,dc2,stuck under current guard/format; still diverged after fix,False,"
        "True,2,Peter,1542286599999,True,2,Sarah,1542286550000\n"
        "2,after_fix,missing,dc2,stuck under current guard/format; still diverged after fix,False,"
        "True,2,fix-2,1542286601999,False,,,\n")
    records = history if history is not None else [
        {"seq": 1, "type": "cell", "cell": CELL, "phase": "", "event": "start", "parameters": PARAMETERS, "time": T0},
        {"seq": 2, "type": "op", "cell": CELL, "phase": "overlap", "dc": "dc1", "kind": "update", "key": 2,
         "value": "Peter", "rows_affected": 1, "error": None, "start": T0 + 1, "end": T0 + 1.002,
         "read_version": 1542286500000, "new_version": 1542286599999, "time": T0 + 1.002},
        {"seq": 3, "type": "event", "cell": CELL, "phase": "check:after_overlap", "event": "check",
         "name": "after_overlap", "diverged_keys": [2], "time": T0 + 2},
    ]
    (path / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_a_newer_results_format_is_refused_in_one_line(tmp_path: Path) -> None:
    run = write_run(tmp_path, results_format=RESULTS_FORMAT + 1)
    with pytest.raises(results.ResultsError) as caught:
        results.load(run)
    message = str(caught.value)
    assert "\n" not in message
    assert f"results_format {RESULTS_FORMAT + 1}" in message and "9.9.9" in message and "upgrade" in message
    assert str(run) in message


@pytest.mark.parametrize("value", [None, "1", 0, True])
def test_a_missing_or_invalid_results_format_is_refused(tmp_path: Path, value: object) -> None:
    run = write_run(tmp_path, results_format=value)
    with pytest.raises(results.ResultsError, match="results_format"):
        results.load(run)


def test_unreadable_run_json_and_non_run_directories_are_named(tmp_path: Path) -> None:
    with pytest.raises(results.ResultsError, match="no such directory"):
        results.load(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(results.ResultsError, match="no run directories"):
        results.load(empty)
    broken = write_run(tmp_path)
    (broken / "run.json").write_text("{")
    with pytest.raises(results.ResultsError, match=r"unreadable run\.json"):
        results.load(broken)


def test_a_run_without_cells_gives_empty_frames_with_their_columns(tmp_path: Path) -> None:
    loaded = results.load(write_run(tmp_path, cells=False))
    frames = {"cells": results.CELLS_COLUMNS, "history": results.HISTORY_COLUMNS,
              "divergence": results.DIVERGENCE_COLUMNS, "faults": results.FAULT_COLUMNS,
              "timeseries": results.TIMESERIES_COLUMNS}
    for name, columns in frames.items():
        frame = getattr(loaded, name)
        assert frame.empty, name
        assert list(frame.columns[: len(columns)]) == list(columns), name
    assert str(loaded.history["time"].dtype) == "datetime64[ns, UTC]"
    assert str(loaded.cells["stuck_rows"].dtype) == "Int64"
    assert loaded.unhealed().empty


def test_parents_globs_and_lists_load_every_run_oldest_first(tmp_path: Path) -> None:
    newer = write_run(tmp_path / "a", "exp-2", started=T0 + 100)
    older = write_run(tmp_path / "b", "exp-1", started=T0)
    loaded = results.load(str(tmp_path / "*"))
    assert [run.path for run in loaded.runs] == [older, newer]
    assert list(loaded.cells["run"].cat.categories) == ["exp-1", "exp-2"]
    assert results.load_latest([tmp_path / "a", tmp_path / "b"]).path == newer
    twin = write_run(tmp_path / "c", "exp-2", started=T0 + 200)  # same directory name in another parent
    names = [run.name for run in results.load([tmp_path / "a", tmp_path / "c"]).runs]
    assert names == ["a/exp-2", "c/exp-2"] and twin.exists()


def test_parameters_follow_the_experiment_files_order(tmp_path: Path) -> None:
    cells = results.load(write_run(tmp_path)).cells
    for column in results.PARAMETERS:
        assert isinstance(cells[column].dtype, pd.CategoricalDtype), column
        assert cells[column].iloc[0] == PARAMETERS[column]
    assert cells["diverged_after_overlap"].tolist() == [1]
    assert cells["overlap_updates"].isna().all()  # a count the cell did not report is missing, not zero


def test_divergence_keeps_each_dcs_values_and_reads_the_verdict(tmp_path: Path) -> None:
    divergence = results.load(write_run(tmp_path)).divergence
    assert len(divergence) == 2
    assert divergence["key"].dtype == "Int64" and divergence["dc1.version"].dtype == "Int64"
    assert divergence["check"].cat.ordered and list(divergence["check"].cat.categories) == ["after_overlap",
                                                                                              "after_fix"]
    missing = divergence[divergence["check"] == "after_fix"].iloc[0]
    assert not missing["dc2.present"] and pd.isna(missing["dc2.first_name"]) and pd.isna(missing["dc2.version"])
    assert divergence["stuck"].all() and not divergence["healed_by_fix"].any()
    assert "dc1.id" not in divergence.columns  # the key is in `key`; the per-DC copy is dropped
    unhealed = results.load(write_run(tmp_path / "again")).unhealed()
    assert unhealed[["key", "first_check", "final_check"]].astype(str).values.tolist() == [
        ["2", "after_overlap", "after_fix"]]


def write_format_2(root: Path) -> Path:
    """The same run as format 2 writes it: the key in `key`, and the verdict as codes."""
    run = write_run(root, results_format=RESULTS_FORMAT)
    (run / "cells" / CELL / "divergence.csv").write_text(
        "key,check,table,kind,dcs,verdict,untouched,fix,lost_update_on_key,dc1.present,dc1.first_name,"
        "dc1.version,dc2.present,dc2.first_name,dc2.version\n"
        "2,after_overlap,users,values_differ,dc2,stuck,True,still_diverged_after_fix,False,"
        "True,Peter,1542286599999,True,Sarah,1542286550000\n"
        "1,after_overlap,users,values_differ,dc2,converged,False,,True,True,Paul,1,True,Sarah,2\n"
        "2,after_fix,users,missing,dc2,stuck,True,still_diverged_after_fix,False,True,fix-2,1542286601999,False,,\n")
    return run


def test_both_formats_give_the_same_verdict_flags(tmp_path: Path) -> None:
    old = results.load(write_run(tmp_path / "one")).divergence
    new = results.load(write_format_2(tmp_path / "two")).divergence
    new_stuck = new[new["key"] == 2]
    for column in ("verdict", "stuck", "healed_by_fix"):
        assert old[column].astype(object).tolist() == new_stuck[column].astype(object).tolist(), column
    assert old["verdict_text"].tolist() == ["stuck under current guard/format; still diverged after fix"] * 2
    assert new_stuck["never_written_again"].all() and new_stuck["verdict_text"].iloc[0] == (
        "stuck under current guard/format; never written again by the app; still diverged after fix")
    converged = new[new["key"] == 1].iloc[0]
    assert converged["verdict"] == "converged" and not converged["stuck"] and pd.isna(converged["healed_by_fix"])
    assert bool(converged["lost_update_on_key"]) and converged["table"] == "users"


def test_format_1_held_appliers_load_as_the_hold_fault(tmp_path: Path) -> None:
    held = [
        {"seq": 4, "type": "event", "cell": CELL, "phase": "overlap", "event": "hold_appliers",
         "servers": ["dc2", "dc1"], "time": T0 + 1},
        {"seq": 5, "type": "event", "cell": CELL, "phase": "overlap", "event": "release_appliers",
         "servers": ["dc2", "dc1"], "time": T0 + 2},
    ]
    intervals = results.fault_intervals(results.load(write_run(tmp_path, history=held)).faults)
    assert intervals[["fault", "target", "healed"]].astype(str).values.tolist() == [
        ["hold_appliers", "dc2-dc1", "True"]]


def test_a_history_cut_off_by_a_crash_loads_with_a_warning(tmp_path: Path) -> None:
    run = write_run(tmp_path)
    with (run / "history.jsonl").open("a") as handle:
        handle.write('{"seq": 4, "type": "op", "cel')
    with pytest.warns(results.ResultsWarning, match="cut off"):
        history = results.load(run).history
    assert history["seq"].tolist() == [1, 2, 3]
    assert history.loc[1, "duration_ms"] == pytest.approx(2.0, abs=0.01)
    lines = (run / "history.jsonl").read_text().splitlines()
    (run / "history.jsonl").write_text("\n".join([lines[0], "garbage", *lines[1:]]) + "\n")
    with pytest.raises(results.ResultsError, match=r"history.jsonl:2: not a JSON record"):
        results.load(run).history  # noqa: B018


def test_fault_records_become_a_timeline_of_intervals(tmp_path: Path) -> None:
    faults = [
        {"seq": 10, "type": "fault", "cell": CELL, "phase": "traffic", "event": "start", "fault": "partition",
         "between": ["dc1", "dc2"], "time": T0 + 3},
        {"seq": 11, "type": "fault", "cell": CELL, "phase": "traffic", "event": "heal", "fault": "partition",
         "between": ["dc1", "dc2"], "time": T0 + 7},
        {"seq": 12, "type": "fault", "cell": CELL, "phase": "traffic", "event": "start", "fault": "pause",
         "server": "dc2", "time": T0 + 8},
    ]
    loaded = results.load(write_run(tmp_path, history=faults))
    frame = loaded.faults
    assert frame[["fault", "action", "target"]].astype(str).values.tolist() == [
        ["partition", "start", "dc1-dc2"], ["partition", "heal", "dc1-dc2"], ["pause", "start", "dc2"]]
    intervals = results.fault_intervals(frame)
    partition = intervals[intervals["fault"] == "partition"].iloc[0]
    assert partition["healed"] and (partition["end"] - partition["start"]).total_seconds() == pytest.approx(4)
    assert not intervals[intervals["fault"] == "pause"].iloc[0]["healed"]


def test_timeseries_samples_are_typed(tmp_path: Path) -> None:
    run = write_run(tmp_path)
    (run / "timeseries.csv").write_text(
        "time,t,phase,diverged_rows,share_dc1,share_dc2,active_faults,link,io,sql,lag_s,last_sql_errno,"
        "last_io_errno,cell\n"
        f"{T0 + 1},1.0,traffic,,1.0,0.0,,dc1->dc2,Yes,Yes,0,0,0,{CELL}\n"
        f"{T0 + 2},2.0,traffic,3,0.5,0.5,partition,dc1->dc2,Connecting,Yes,,0,2003,{CELL}\n")
    series = results.load(run).timeseries
    assert len(series) == 2 and str(series["time"].dtype) == "datetime64[ns, UTC]"
    assert series["diverged_rows"].dtype == "Int64" and pd.isna(series["diverged_rows"].iloc[0])
    assert series["diverged_rows"].iloc[1] == 3 and pd.isna(series["lag_s"].iloc[1])
    assert series["share_dc2"].tolist() == [0.0, 0.5] and series["active_faults"].tolist() == ["", "partition"]
    assert series["cell"].astype(str).unique().tolist() == [CELL]
