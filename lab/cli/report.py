"""`lab report RUN_DIR`: redraw a run's plots, report.html and report.md from its results directory."""

from __future__ import annotations

from pathlib import Path

import click

from lab.cli import tables
from lab.cli.common import friendly_errors, progress


@click.command(name="report")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the HTML (default: RUN_DIR/report.html).")
@click.option("--timelines", default=3, show_default=True, type=click.IntRange(0, 20),
              help="How many cells get a divergence-over-time plot.")
@friendly_errors
def report_command(run_dir: Path, output: Path | None, timelines: int) -> None:
    """Write RUN_DIR/report.html (self-contained) and RUN_DIR/plots/*.png from a run's results.

    RUN_DIR may also be a directory of runs such as results/; its latest run is used.
    """
    from lab.results import latest_run, schema
    from lab.results.html import write_html_report

    if not (run_dir / schema.RUN_FILE).exists():
        progress(f"{run_dir} is a directory of runs; using the latest, {latest_run(run_dir).path}")
    path = write_html_report(run_dir, output, timelines, progress=progress)
    tables.console.print(f"report: {path}", markup=False)
