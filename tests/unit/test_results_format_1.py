"""A real results directory written before the single cell engine (results format 1) still loads and reports.

tests/fixtures/results-format-1 is a real run of the code before the change (commit 0594366, MariaDB
10.11.19, 2026-12-02): two incident cells, deterministic and concurrent. Every expected value is read
from its own files, so the test holds whatever that run measured.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from lab import results
from lab.results import schema
from lab.results.html import write_html_report

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "results-format-1"


def raw_records() -> list[dict]:
    return [json.loads(line) for line in (FIXTURE / "history.jsonl").read_text().splitlines()]


def test_it_is_format_1_and_loads_every_cell_with_its_counts() -> None:
    assert json.loads((FIXTURE / "run.json").read_text())["results_format"] == 1
    loaded = results.load(FIXTURE)
    cells = loaded.cells
    with (FIXTURE / "cells.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(cells["cell"]) == sorted(row["cell"] for row in rows)
    for row in rows:
        mine = cells[cells["cell"] == row["cell"]].iloc[0]
        for column in ("diverged_after_overlap", "stuck_rows", "lost_updates", "diverged_after_fix"):
            assert int(mine[column]) == int(row[column]), column


def test_its_verdict_sentences_become_the_codes_format_2_writes() -> None:
    divergence = results.load(FIXTURE).divergence
    with_sentences = []
    for path in (FIXTURE / "cells").glob(f"*/{schema.DIVERGENCE_FILE}"):
        with path.open(newline="") as handle:
            with_sentences += [(path.parent.name, row["id"], row["check"], row["verdict"])
                               for row in csv.DictReader(handle)]
    assert len(divergence) == len(with_sentences) > 0
    by_row = {(str(r.cell), str(r.key), str(r.check)): r for r in divergence.itertuples(index=False)}
    for cell, key, check, sentence in with_sentences:
        row = by_row[(cell, key, check)]
        assert row.verdict_text == sentence  # the sentence derived from the codes is the one written then
        assert bool(row.stuck) == sentence.startswith("stuck")
        assert bool(row.never_written_again) == ("never written again" in sentence)


def test_its_held_appliers_are_the_hold_appliers_fault() -> None:
    events = [r for r in raw_records() if r.get("event") in ("hold_appliers", "release_appliers")]
    intervals = results.fault_intervals(results.load(FIXTURE).faults)
    held = intervals[intervals["fault"] == "hold_appliers"]
    assert len(held) == sum(r["event"] == "hold_appliers" for r in events) > 0
    assert held["healed"].all() and (held["end"] > held["start"]).all()


def test_the_reports_are_drawn_from_it(tmp_path: Path) -> None:
    copy = Path(shutil.copytree(FIXTURE, tmp_path / FIXTURE.name))
    page = write_html_report(copy).read_text()
    assert page.count("data:image/png;base64,") >= 4
    markdown = (copy / schema.REPORT_MD).read_text()
    assert "stuck under current guard/format" in markdown and "## Summary per cell" in markdown


def test_a_future_format_is_still_refused(tmp_path: Path) -> None:
    copy = Path(shutil.copytree(FIXTURE, tmp_path / FIXTURE.name))
    meta = json.loads((copy / "run.json").read_text())
    (copy / "run.json").write_text(json.dumps({**meta, "results_format": schema.RESULTS_FORMAT + 1}))
    with pytest.raises(results.ResultsError, match=f"results_format {schema.RESULTS_FORMAT + 1}"):
        results.load(copy)
