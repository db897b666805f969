"""`lab run` and `lab demo`: an experiment's matrix on real servers, a results directory, a summary table."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lab.cli import tables
from lab.cli.common import EXIT_EXPECTATION_FAILED, EXIT_INCOMPLETE, friendly_errors, progress, with_options
from lab.errors import LabError
from lab.results import schema
from lab.results.writer import RunDirectory

DEMO_SELECTION = "mode=deterministic,version_order=dc1_newer,topology=active-passive|active-active"
EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def _draw(run_dir: Path) -> None:
    from lab.results.html import write_html_report

    try:
        progress(f"plots and HTML report: {write_html_report(run_dir)}")
    except Exception as exc:  # plots are a view of the results; never lose a run over them
        progress(f"could not draw the plots ({type(exc).__name__}: {exc}); results are intact")


def run_experiment_file(experiment_file: str | None, only: tuple[str, ...], seed: int | None, results: str,
                        expect: tuple[str, ...], plots: bool, resume: Path | None = None) -> None:
    from lab import experiments
    from lab.results import expect as expectations
    from lab.results.summary import constant_parameters, terminal_rows
    from lab.runner import resume_experiment, run_experiment

    if (experiment_file is None) == (resume is None):
        raise LabError("lab run: give an EXPERIMENT_FILE, or --resume RUN_DIR to continue a run that was killed")
    if resume is not None and (only or seed is not None):
        raise LabError("--resume: a resumed run keeps the cells and seed it was started with; drop --only/--seed")
    if resume is not None:
        RunDirectory.open(resume)  # a directory that is no run of this lab is refused before anything starts
    source = str(resume / schema.EXPERIMENT_COPY) if resume is not None else str(experiment_file)
    experiment = experiments.load(source)
    try:
        selection = experiments.parse_only(only)
        wanted = [expectations.parse(text, [*schema.CELL_COLUMN_NAMES, *experiment.summary_columns()])
                  for text in expect]
    except ValueError as exc:
        raise LabError(str(exc)) from None
    if resume is not None:
        result = resume_experiment(resume, progress=progress)
    else:
        result = run_experiment(source, only=selection, seed=seed, results_root=results, progress=progress)
    summaries = result.summaries
    parameters = experiment.parameter_keys()
    if plots:
        _draw(result.directory.path)
    fixed = ", ".join(f"{k}={v}" for k, v in constant_parameters(summaries, parameters).items())
    tables.show(terminal_rows(summaries, parameters),
                title=f"{len(summaries)} cell(s); all with {fixed}" if fixed else None)
    tables.console.print(f"report: {result.directory.path / schema.REPORT_MD}\n"
                         f"cells:  {result.directory.path / schema.CELLS_FILE}", markup=False)
    failed = [s for s in summaries if s.get("status") != "completed"]
    if failed or not result.completed:
        progress(f"{len(failed)} cell(s) failed; see report.md")
        sys.exit(EXIT_INCOMPLETE)
    broken = [v for expectation in wanted for v in expectation.violations(summaries)]
    if broken:
        progress(f"--expect not met in {len(broken)} cell(s): " + "; ".join(broken[:5]))
        sys.exit(EXIT_EXPECTATION_FAILED)


run_options = [
    click.option("--only", multiple=True, metavar="KEY=V[|V2],...",
                 help="Run a subset of the matrix, e.g. --only binlog_format=STATEMENT,guard=strict|gte"),
    click.option("--seed", type=int, help="Override the experiment's seed."),
    click.option("--results", default="results", show_default=True, help="Directory that receives run folders."),
    click.option("--expect", multiple=True, metavar="COLUMN OP N",
                 help="Fail (exit 1) unless every cell satisfies it, e.g. --expect diverged_after_fix==0"),
    click.option("--plots/--no-plots", default=True, show_default=True,
                 help="Also draw the plots and write report.html (same as `lab report RUN_DIR`)."),
]


@click.command(name="run")
@click.argument("experiment_file", required=False)
@with_options(run_options)
@click.option("--resume", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="RUN_DIR",
              help="Continue a run that was killed: keep its recorded cells, run the rest (instead of a file).")
@friendly_errors
def run_command(experiment_file: str | None, only: tuple[str, ...], seed: int | None, results: str,
                expect: tuple[str, ...], plots: bool, resume: Path | None) -> None:
    """Run an experiment's matrix on real servers and write a results directory.

    Exit codes: 0 every cell completed (divergence found is reported, not an error);
    1 an --expect condition failed; 2 bad input or lab error; 3 some cell failed; 130 interrupted.
    """
    run_experiment_file(experiment_file, only, seed, results, expect, plots, resume)


@click.command()
@click.option("--flavor", default="mysql:9.7", show_default=True, help="Server flavor for the demo.")
@with_options(run_options)
@friendly_errors
def demo(flavor: str, only: tuple[str, ...], seed: int | None, results: str, expect: tuple[str, ...],
         plots: bool) -> None:
    """The incident demo: deterministic 2-DC cells of experiments/wix-incident.yaml, all formats and guards.

    --only narrows the demo's own selection (it never widens it).
    """
    from lab import experiments
    from lab.db.images.spec import parse_flavor

    try:
        parse_flavor(flavor)
        chosen = experiments.parse_only([DEMO_SELECTION, f"flavor={flavor}"])
        for key, values in experiments.parse_only(only).items():
            chosen[key] = chosen[key] & values if key in chosen else values
    except ValueError as exc:
        raise LabError(f"--flavor {flavor}: {exc}" if "FAMILY" in str(exc) or "flavor" in str(exc) else str(exc)) \
            from None
    expressions = [f"{key}={'|'.join(sorted(values)) or '(none)'}" for key, values in chosen.items()]
    run_experiment_file(str(EXPERIMENTS / "wix-incident.yaml"), tuple(expressions), seed, results, expect, plots)
