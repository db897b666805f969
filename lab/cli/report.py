"""`lab report RUN_DIR...`: redraw a run's plots, report.html and report.md; merge the runs of a sharded matrix."""

from __future__ import annotations

import time
from pathlib import Path

import click

from lab.cli import tables
from lab.cli.common import friendly_errors, progress


@click.command(name="report", epilog="Exit codes: 0 written; 2 a RUN_DIR is not a run directory (or the shards "
                                    "do not belong to one run); 130 interrupted.")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the HTML (default: RUN_DIR/report.html).")
@click.option("--merged", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="With several RUN_DIRs (the shards of one run): the merged run directory to write "
                   "(default: next to the first, named EXPERIMENT-merged-TIME).")
@click.option("--timelines", default=3, show_default=True, type=click.IntRange(0, 20),
              help="How many cells get a divergence-over-time plot.")
@friendly_errors
def report_command(run_dirs: tuple[Path, ...], output: Path | None, merged: Path | None, timelines: int) -> None:
    """Write RUN_DIR/report.html (self-contained) and plots/*.png from a run's results.

    RUN_DIR may also be a directory of runs such as results/; its latest run is used. Several RUN_DIRs are
    the shards of one run (`lab run --shard K/N`): they are merged into one run directory first, with the
    cells in the order an unsharded run would have run them, and a report.md.
    """
    from lab.results import latest_run, schema
    from lab.results.html import write_html_report
    from lab.results.markdown import write_report
    from lab.results.merge import experiment_of, merge

    run_dir = run_dirs[0]
    if len(run_dirs) > 1:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = merged or run_dirs[0].parent / f"{experiment_of(run_dirs[0])}-merged-{stamp}"
        run_dir = merge(list(run_dirs), target)
        write_report(run_dir)
        progress(f"merged {len(run_dirs)} shard(s) into {run_dir}")
    elif not (run_dir / schema.RUN_FILE).exists():
        progress(f"{run_dir} is a directory of runs; using the latest, {latest_run(run_dir).path}")
    path = write_html_report(run_dir, output, timelines, progress=progress)
    tables.console.print(f"report: {path}", markup=False)
