"""`lab run` and `lab demo`: an experiment's matrix on real servers, a results directory, a summary table."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from lab.cli import tables
from lab.cli.common import (
    EXIT_CODES_RUN,
    EXIT_EXPECTATION_FAILED,
    EXIT_INCOMPLETE,
    friendly_errors,
    progress,
    with_options,
)
from lab.errors import LabError
from lab.results import schema
from lab.results.writer import RunDirectory

DEMO_SELECTION = "mode=deterministic,version_order=dc1_newer,topology=active-passive|active-active"


def _draw(run_dir: Path) -> None:
    from lab.results.html import write_html_report

    try:
        progress(f"plots and HTML report: {write_html_report(run_dir)}")
    except Exception as exc:  # plots are a view of the results; never lose a run over them
        progress(f"could not draw the plots ({type(exc).__name__}: {exc}); results are intact")


@dataclass
class RunRequest:
    """What `lab run` (and `lab demo`) was asked to do, from the command line."""

    experiment_file: str | None
    only: tuple[str, ...] = ()
    seed: int | None = None
    results: str = "results"
    expect: tuple[str, ...] = ()
    plots: bool = True
    resume: Path | None = None
    shard: str | None = None
    jobs: int = 1
    junit: Path | None = None
    as_json: bool = False
    dry_run: bool = False


def _checked(request: RunRequest) -> tuple[Any, list[Any], Any]:
    """The experiment, the parsed --expect conditions and the plan (or None when resuming), or LabError."""
    from lab import experiments
    from lab.results import expect as expectations
    from lab.runner import parse_shard, plan

    if (request.experiment_file is None) == (request.resume is None):
        raise LabError("lab run: give an EXPERIMENT (a file or a shipped name), or --resume RUN_DIR")
    if request.resume is not None and (request.only or request.seed is not None or request.shard):
        raise LabError("--resume: a resumed run keeps the cells and seed it was started with; drop --only/--seed/"
                       "--shard")
    if request.jobs > 1 and (request.resume is not None or request.shard):
        raise LabError(f"--jobs {request.jobs}: the lab shards a run into jobs itself; it does not combine with "
                       "--shard or --resume (resume each job's directory on its own)")
    if request.resume is not None:
        RunDirectory.open(request.resume)  # a directory that is no run of this lab is refused before anything starts
    source = str(request.resume / schema.EXPERIMENT_COPY) if request.resume is not None else \
        str(experiments.find(str(request.experiment_file)))
    experiment = experiments.load(source)
    try:
        selection = experiments.parse_only(request.only, experiment.parameter_keys())
        numeric = schema.numeric_columns(experiment.summary_columns())
        wanted = [expectations.parse(text, numeric) for text in request.expect]
    except ValueError as exc:
        raise LabError(str(exc)) from None
    shard = parse_shard(request.shard) if request.shard else None
    chosen = plan(source, selection, shard) if request.resume is None else None
    return experiment, wanted, chosen


def _dry_run(experiment: Any, chosen: Any, as_json: bool) -> None:
    """The cells a run would run, in order, without an engine."""
    from lab import experiments
    from lab.runner.jobs import LEFT_OUT

    rows = [{"cell": experiments.cell_id(cell), **cell} for cell in chosen.cells]
    if as_json:
        click.echo(json.dumps({"experiment": experiment.name, "kind": experiment.kind, "file": str(chosen.path),
                               "cells": rows, "selected": len(chosen.selected), "shard": chosen.shard_meta(),
                               "not_applicable": chosen.not_applicable}))
        return
    tables.show([{k: v for k, v in row.items() if k != "cell"} for row in rows],
                title=f"{experiment.name} ({experiment.kind}): {len(rows)} cell(s) would run")
    for reason in dict.fromkeys(chosen.not_applicable.values()):
        progress(f"{LEFT_OUT}{reason}")
    where = f" (shard {chosen.shard[0]}/{chosen.shard[1]} of {len(chosen.selected)})" if chosen.shard else ""
    progress(f"dry run{where}: every field and fault checked; nothing started")


def run_experiment_file(request: RunRequest) -> None:
    from lab.results.junit import write_junit
    from lab.results.summary import constant_parameters, terminal_rows
    from lab.runner import resume_experiment, run_experiment

    experiment, wanted, chosen = _checked(request)
    if request.dry_run:
        if chosen is None:
            raise LabError("--dry-run lists the cells of an EXPERIMENT; it does not combine with --resume")
        _dry_run(experiment, chosen, request.as_json)
        return
    if request.resume is not None:
        result = resume_experiment(request.resume, progress=progress)
    else:
        result = run_experiment(chosen.path, only=chosen.only, seed=request.seed,
                                results_root=request.results, progress=progress, shard=chosen.shard,
                                jobs=request.jobs)
    summaries = result.summaries
    if request.plots and summaries:
        _draw(result.directory.path)
    if request.junit is not None:
        junit = write_junit(request.junit, experiment.name, summaries, wanted, result.directory.meta.get("started"))
        progress(f"JUnit report: {junit}")
    failed = [s for s in summaries if s.get("status") == "failed"]   # a refused format is a result
    broken = [v for expectation in wanted for v in expectation.violations(summaries)]
    code = EXIT_INCOMPLETE if failed or not result.completed else EXIT_EXPECTATION_FAILED if broken else 0
    if request.as_json:
        click.echo(json.dumps({"run_dir": str(result.directory.path), "completed": result.completed,
                               "exit_code": code, "expect_failed": broken, "cells": summaries}, default=str))
    else:
        parameters = experiment.parameter_keys()
        fixed = ", ".join(f"{k}={v}" for k, v in constant_parameters(summaries, parameters).items()) \
            if summaries else ""
        tables.show(terminal_rows(summaries, parameters) if summaries else [],
                    title=f"{len(summaries)} cell(s); all with {fixed}" if fixed else f"{len(summaries)} cell(s)")
        tables.console.print(f"report: {result.directory.path / schema.REPORT_MD}\n"
                             f"cells:  {result.directory.path / schema.CELLS_FILE}", markup=False)
    if failed or not result.completed:
        progress(f"{len(failed)} cell(s) failed; see report.md")
    elif broken:
        progress(f"--expect not met in {len(broken)} cell(s): " + "; ".join(broken[:5]))
    if code:
        sys.exit(code)


run_options = [
    click.option("--only", multiple=True, metavar="KEY=VALUE",
                 help="Run a subset of the matrix. Repeat for more values of a key (alternatives) or for more keys "
                      "(all must match): --only binlog_format=STATEMENT --only guard=strict --only guard=gte. "
                      "Commas join keys in one --only; `|` joins values but must be quoted for the shell."),
    click.option("--seed", type=int, help="Override the experiment's seed."),
    click.option("--results", default="results", show_default=True, help="Directory that receives run folders."),
    click.option("--expect", multiple=True, metavar="'COLUMN OP N'",
                 help="Fail (exit 1) unless every completed cell satisfies it; quote it, since > and < redirect: "
                      "--expect 'diverged_after_fix==0' --expect 'stuck_rows>0'. Repeat for several."),
    click.option("--plots/--no-plots", default=True, show_default=True,
                 help="Also draw the plots and write report.html (same as `lab report RUN_DIR`)."),
    click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                 help="Also write a JUnit XML report: one test case per cell; a broken --expect is a failure, a "
                      "cell that could not run an error."),
    click.option("--json", "as_json", is_flag=True,
                 help="Print the run's outcome as JSON on stdout (run directory, exit code, every cell's row)."),
    click.option("--jobs", type=click.IntRange(1, 32), default=1, show_default=True, metavar="N",
                 help="Run the cells in N independent labs at once (each a `--shard K/N` child process), merged "
                      "into one run directory. Each job starts its own servers: mind memory (MySQL ~0.5 GB each)."),
    click.option("--dry-run", is_flag=True,
                 help="Check every field and fault and list the cells that would run; start nothing."),
]


@click.command(name="run", epilog=EXIT_CODES_RUN)
@click.argument("experiment", required=False)
@with_options(run_options)
@click.option("--shard", metavar="K/N",
              help="Run only slice K of N of the selected cells (deterministic; `lab report` merges the N runs).")
@click.option("--resume", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="RUN_DIR",
              help="Continue a run that was killed: keep its recorded cells, run the rest (instead of a file).")
@friendly_errors
def run_command(experiment: str | None, resume: Path | None, shard: str | None, **options: Any) -> None:
    """Run an EXPERIMENT's matrix on real servers and write a results directory.

    EXPERIMENT is a file, or the name of a shipped experiment (`lab run wix-incident`). Progress on stderr:
    each cell's verdict with elapsed time and an ETA.
    """
    run_experiment_file(RunRequest(experiment, resume=resume, shard=shard, **options))


@click.command(epilog=EXIT_CODES_RUN)
@click.option("--flavor", default="mysql:9.7", show_default=True,
              help="Server flavor for the demo: one of the flavors of wix-incident's matrix.")
@with_options(run_options)
@friendly_errors
def demo(flavor: str, only: tuple[str, ...], **options: Any) -> None:
    """The incident demo: the deterministic 2-DC cells of wix-incident (active-passive and active-active, DC1
    writing the newer version), every binlog format and guard, on one flavor.

    --only narrows the demo's own selection (it never widens it): --only guard=strict runs 6 of the 18 cells.
    """
    from lab import experiments
    from lab.db.images.spec import parse_flavor

    try:
        parse_flavor(flavor)
    except ValueError as exc:
        raise LabError(f"--flavor {flavor}: {exc}") from None
    incident = experiments.load("wix-incident")
    offered = list(incident.matrix.flavor)
    if flavor not in offered:
        raise LabError(f"--flavor {flavor}: the demo runs a flavor of wix-incident's matrix ({', '.join(offered)}); "
                       "for another, `lab init DIR` and add it to the copy's matrix")
    try:
        chosen = experiments.parse_only([DEMO_SELECTION, f"flavor={flavor}"])
        narrowing = experiments.parse_only(only, incident.parameter_keys())
    except ValueError as exc:
        raise LabError(str(exc)) from None
    for key, values in narrowing.items():
        kept = {v for v in values if key not in chosen or v.upper() in {c.upper() for c in chosen[key]}}
        if not kept:
            raise LabError(f"--only {key}={'|'.join(sorted(values))}: the demo runs only {key}="
                           f"{'|'.join(sorted(chosen[key]))}; use `lab run wix-incident --only ...` for other cells")
        chosen[key] = kept
    expressions = [f"{key}={'|'.join(sorted(values))}" for key, values in chosen.items()]
    run_experiment_file(RunRequest("wix-incident", only=tuple(expressions), **options))
