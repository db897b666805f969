"""lab.results against a real run: dtypes, row counts that match history.jsonl, parameters that round-trip.

Every expected number is read from the run's own files (history.jsonl, summary.json, divergence.csv),
never written into the test, so the test holds whatever the servers did.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from real_results import real_run, selection

from lab import experiments, results
from lab.cli import main
from lab.results import schema

COUNT_COLUMNS = [c.name for c in schema.CELL_COLUMNS if c.kind == schema.COUNT]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return real_run(tmp_path_factory)


@pytest.fixture(scope="module")
def loaded(run_dir: Path) -> results.Results:
    return results.load(run_dir)


@pytest.fixture(scope="module")
def records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]


def test_cells_have_typed_columns_and_parameters_that_round_trip(loaded: results.Results, run_dir: Path,
                                                                 records: list[dict]) -> None:
    cells = loaded.cells
    wanted = experiments.select(experiments.load(run_dir / "experiment.yaml").cells(), selection())
    assert sorted(cells["cell"]) == sorted(experiments.cell_id(p) for p in wanted)
    assert (cells["run"].astype(str) == run_dir.name).all()
    started = {r["cell"]: r["parameters"] for r in records if r["type"] == "cell" and r["event"] == "start"}
    for row in cells.to_dict("records"):
        parameters = {key: str(row[key]) for key in experiments.MATRIX_KEYS}
        assert parameters in wanted
        assert experiments.cell_id(parameters) == row["cell"]
        assert parameters == started[row["cell"]]
        summary = json.loads((run_dir / "cells" / row["cell"] / "summary.json").read_text())
        for column in COUNT_COLUMNS:
            expected = summary.get(column)
            assert (pd.isna(row[column]) if expected is None else row[column] == expected), column
    for column in results.PARAMETERS:
        assert isinstance(cells[column].dtype, pd.CategoricalDtype), column
    for column in COUNT_COLUMNS:
        assert cells[column].dtype == "Int64", column
    assert cells["seconds"].dtype == "float64" and (cells["seconds"] > 0).all()
    assert list(cells.columns[: len(schema.CELL_COLUMN_NAMES) + 1]) == ["run", *schema.CELL_COLUMN_NAMES]
    assert (cells["status"] == "completed").all()


def test_history_has_one_row_per_record_with_datetimes(loaded: results.Results, records: list[dict]) -> None:
    history = loaded.history
    assert len(history) == len(records)
    assert history["seq"].tolist() == [r["seq"] for r in records]
    assert Counter(history["type"].astype(str)) == Counter(r["type"] for r in records)
    for column in ("time", "start", "end"):
        assert str(history[column].dtype) == "datetime64[ns, UTC]", column
    for column in ("seq", "key", "rows_affected", "read_version", "new_version"):
        assert history[column].dtype == "Int64", column
    for column in ("type", "phase", "cell", "dc", "kind", "guard"):
        assert isinstance(history[column].dtype, pd.CategoricalDtype), column
    operations = history[history["type"] == "op"]
    raw = [r for r in records if r["type"] == "op"]
    assert len(operations) == len(raw) > 0
    assert operations["rows_affected"].tolist() == [r["rows_affected"] for r in raw]
    assert [None if pd.isna(k) else str(k) for k in operations["key"]] == [r["key"] for r in raw]
    starts = (operations["start"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    assert max(abs(a - r["start"]) for a, r in zip(starts, raw, strict=True)) < 1e-5
    assert (operations["duration_ms"] >= 0).all()
    per_cell = Counter(r["cell"] for r in raw)
    assert operations.groupby("cell", observed=True).size().to_dict() == dict(per_cell)


def test_divergence_rows_match_the_files_the_checks_and_the_counts(loaded: results.Results, run_dir: Path,
                                                                   records: list[dict]) -> None:
    divergence, cells = loaded.divergence, loaded.cells
    on_disk = 0
    for path in (run_dir / "cells").glob("*/divergence.csv"):
        with path.open(newline="") as handle:
            on_disk += sum(1 for _ in csv.DictReader(handle))
    assert len(divergence) == on_disk
    assert divergence["key"].dtype == "Int64" and divergence["check"].cat.ordered
    for dc in ("dc1", "dc2"):
        assert divergence[f"{dc}.present"].dtype == "boolean"
        assert divergence[f"{dc}.version"].dtype == "Int64"
    found = Counter((str(r.cell), str(r.check)) for r in divergence.itertuples(index=False))
    for record in records:
        if record["type"] == "event" and record["event"] == "check":
            assert found.get((record["cell"], record["name"]), 0) == len(record["diverged_keys"])
    for cell in cells.itertuples(index=False):
        assert found.get((cell.cell, "after_overlap"), 0) == cell.diverged_after_overlap
        mine = divergence[divergence["cell"] == cell.cell]
        assert (mine[list(results.PARAMETERS)].astype(str) == pd.Series(
            {p: str(getattr(cell, p)) for p in results.PARAMETERS})).all().all()
    assert len(loaded.unhealed()) == int(cells["diverged_after_fix"].sum())


def test_faults_and_timeseries_frames_match_the_run(loaded: results.Results, run_dir: Path,
                                                    records: list[dict]) -> None:
    assert len(loaded.faults) == sum(r["type"] == "fault" for r in records)
    assert list(loaded.faults.columns[: len(results.FAULT_COLUMNS)]) == list(results.FAULT_COLUMNS)
    sampled = run_dir / "timeseries.csv"
    expected = len(pd.read_csv(sampled)) if sampled.exists() else 0
    assert len(loaded.timeseries) == expected
    assert list(loaded.timeseries.columns[: len(results.TIMESERIES_COLUMNS)]) == list(results.TIMESERIES_COLUMNS)
    intervals = results.fault_intervals(loaded.faults)
    held = [r for r in records if r["type"] == "fault" and r["fault"] == "hold_appliers"]
    overlaps = intervals[intervals["fault"] == "hold_appliers"]
    assert len(overlaps) == sum(r["event"] == "start" for r in held) > 0
    assert overlaps["healed"].all() and (overlaps["end"] > overlaps["start"]).all()


def test_lab_report_draws_the_real_run(run_dir: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(run_dir, tmp_path / run_dir.name))
    outcome = CliRunner().invoke(main, ["report", str(copy)])
    assert outcome.exit_code == 0, outcome.output
    pngs = sorted((copy / "plots").glob("*.png"))
    page = (copy / "report.html").read_text()
    assert len(pngs) >= 5 and page.count("data:image/png;base64,") == len(pngs)
    markdown = (copy / "report.md").read_text()
    assert all(f"(plots/{png.name})" in markdown for png in pngs)
