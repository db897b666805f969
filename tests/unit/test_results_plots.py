"""Plots and the HTML report on tiny synthetic runs: they draw (also from nothing), count honestly, embed images."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure
from test_results_loader import CELL, T0, write_run

from lab import results
from lab.cli import main
from lab.results import plots


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return write_run(tmp_path)


def test_every_plot_draws_a_synthetic_run(run: Path, tmp_path: Path) -> None:
    loaded = results.load(run)
    figures = [plots.incident_heatmap(loaded.cells), plots.tradeoff(loaded.cells),
               plots.divergence_timeline(loaded, CELL), plots.divergence_by_check(loaded),
               plots.unhealed_table(loaded.cells, loaded.divergence)]
    for index, figure in enumerate(figures):
        assert isinstance(figure, Figure)
        path = plots.save(figure, tmp_path / "out" / f"{index}.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_count_axes_start_at_zero_with_whole_ticks(run: Path) -> None:
    loaded = results.load(run)
    figure = plots.tradeoff(loaded.cells)
    for axes in figure.axes:
        low, high = axes.get_ylim()
        assert low <= 0 < high
        ticks = [t for t in axes.get_yticks() if low <= t <= high]
        assert all(float(t).is_integer() for t in ticks) and 0 in ticks


def test_plots_of_nothing_say_so(tmp_path: Path) -> None:
    loaded = results.load(write_run(tmp_path, cells=False))
    for figure in (plots.incident_heatmap(loaded.cells), plots.tradeoff(loaded.cells),
                   plots.divergence_by_check(loaded), plots.unhealed_table(loaded.cells, loaded.divergence),
                   plots.divergence_timeline(loaded)):
        texts = [t.get_text() for axes in figure.axes for t in axes.texts]
        assert any(text.startswith("No ") for text in texts)


def test_lab_report_writes_self_contained_html_and_links_it_from_report_md(run: Path) -> None:
    outcome = CliRunner().invoke(main, ["report", str(run.parent)])
    assert outcome.exit_code == 0, outcome.output
    page = (run / "report.html").read_text()
    pngs = sorted(p.name for p in (run / "plots").glob("*.png"))
    assert page.count("data:image/png;base64,") == len(pngs) >= 5
    assert "src=\"http" not in page and "<link" not in page  # nothing fetched from elsewhere
    markdown = (run / "report.md").read_text()
    assert "(report.html)" in markdown and all(f"(plots/{name})" in markdown for name in pngs)


def test_lab_report_refuses_a_newer_format_in_one_line(tmp_path: Path) -> None:
    run = write_run(tmp_path, results_format=99)
    outcome = CliRunner().invoke(main, ["report", str(run)])
    assert outcome.exit_code == 2
    assert outcome.output.startswith("error: ") and "results_format 99" in outcome.output
    assert "upgrade mysql-replication-lab" in outcome.output.replace("\n", "")  # rich folds at 220 columns
    assert json.loads((run / "run.json").read_text())["started"] == T0


def test_runs_with_different_dcs_share_one_unhealed_table(tmp_path: Path) -> None:
    two_dcs = write_run(tmp_path / "a", "exp-1")
    three_dcs = write_run(tmp_path / "b", "exp-2", started=T0 + 60)
    table = three_dcs / "cells" / CELL / "divergence.csv"
    lines = table.read_text().splitlines()
    table.write_text("\n".join([lines[0] + ",dc3.present,dc3.id,dc3.first_name,dc3.version",
                                *(line + ",True,2,Paul,1542286600999" for line in lines[1:])]) + "\n")
    loaded = results.load([two_dcs, three_dcs])
    rows = plots.unhealed_table_rows(loaded.unhealed())
    columns = ["dc2: first_name @ version", "dc3: first_name @ version"]
    assert rows[columns].values.tolist() == [["(missing)", "–"], ["(missing)", "Paul @ 1542286600999"]]
    assert isinstance(plots.unhealed_table(loaded.cells, loaded.divergence), Figure)
