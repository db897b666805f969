"""The `lab` command: a thin layer over the library (lab.cluster, lab.experiment, lab.checker)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import wraps
from typing import Any

import click

from lab import cleanup, engine, state, tables
from lab import topology as topo
from lab.errors import LabError

EXIT_ERROR = 2


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """LabError -> one line on stderr and exit 2; Ctrl-C/SIGTERM -> exit 130 after cleanup ran."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except LabError as exc:
            tables.errors.print(f"error: {exc}", markup=False)
            sys.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            tables.errors.print("interrupted: everything this command started was removed", markup=False)
            sys.exit(130)

    return wrapper


def progress(message: str) -> None:
    tables.errors.print(f"[lab] {message}", markup=False)


def _only_lab_name(name: str | None) -> str:
    if name:
        return name
    names = state.all_names()
    if len(names) == 1:
        return names[0]
    if not names:
        raise LabError("no lab is up (start one with `lab up topologies/active-active.yaml`)")
    raise LabError(f"several labs are up ({', '.join(names)}); name one")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mysql-replication-lab")
def main() -> None:
    """Multi-datacenter MySQL/MariaDB replication fault-injection lab."""


topology_overrides = [
    click.option("--flavor", help="Override every server's flavor, e.g. mysql:9.7 or mariadb:10.11."),
    click.option("--binlog-format", type=click.Choice(["STATEMENT", "ROW", "MIXED"], case_sensitive=False),
                 help="Override every server's binlog_format."),
]


def with_overrides(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(topology_overrides):
        command = option(command)
    return command


@main.command()
@click.argument("topology_file")
@click.option("--name", help="Lab name (default: the topology's name). Several labs can run at once.")
@with_overrides
@friendly_errors
def up(topology_file: str, name: str | None, flavor: str | None, binlog_format: str | None) -> None:
    """Start a topology, wire replication and wait until every link is caught up."""
    from lab import status
    from lab.cluster import Lab

    resolved = topo.load(topo.find(topology_file), flavor=flavor, binlog_format=binlog_format)
    lab = Lab.up(resolved, name=name, progress=progress)
    lab.remember_overrides({"flavor": flavor, "binlog_format": binlog_format})
    tables.show(status.server_rows(lab), title=f"lab {lab.name}: servers")
    tables.show(status.link_rows(lab), title=f"lab {lab.name}: replication links")
    progress(f"`lab status {lab.name}` to watch, `lab down {lab.name}` to remove")


@main.command(name="status")
@click.argument("name", required=False)
@click.option("--full", is_flag=True, help="Do not shorten errors and GTID sets.")
@friendly_errors
def status_command(name: str | None, full: bool) -> None:
    """Per-link IO/SQL state, lag, last error and executed GTIDs or positions."""
    from lab import status
    from lab.cluster import Lab

    lab = Lab.attach(_only_lab_name(name))
    tables.show(status.server_rows(lab), title=f"lab {lab.name}: servers")
    tables.show(status.link_rows(lab, full=full), title=f"lab {lab.name}: replication links")


@main.command()
@click.argument("name", required=False)
@click.option("--all", "everything", is_flag=True, help="Remove every container and network the lab ever labelled.")
@friendly_errors
def down(name: str | None, everything: bool) -> None:
    """Remove a lab's containers and network (or, with --all, every lab leftover)."""
    target = None if everything else _only_lab_name(name)
    containers, networks = cleanup.remove_lab(target)
    progress(f"removed {containers} container(s) and {networks} network(s)")


@main.command()
@friendly_errors
def doctor() -> None:
    """Report the Docker engine, the server images and the flavors available."""
    from lab.images import offline
    from lab.images.resolve import local_lab_images

    facts = engine.describe()
    tables.show([{"fact": k, "value": v} for k, v in facts.items()], title="Docker engine")
    images = local_lab_images()
    tables.show(images or [{"image": "(none yet)", "id": "", "size_mb": ""}], title="Server images on this engine")
    local = {row["image"] for row in images}
    flavors = []
    for (family, version), recipe in offline.RECIPES.items():
        available = f"{family}:{version}" in local or recipe.tag in local
        flavors.append({"flavor": f"{family}:{version}", "status": "ready" if available else "buildable offline",
                        "offline_recipe": f"Debian {recipe.suite}: {' '.join(recipe.packages)}"})
    tables.show(flavors, title="Flavors (any other official image works when it is local or pullable)")
    leftovers = engine.client().containers.list(all=True, filters={"label": "io.mysqllab.lab"})
    progress(f"{len(leftovers)} lab container(s) exist; running labs: {', '.join(state.all_names()) or 'none'}")


EXIT_EXPECTATION_FAILED = 1
EXIT_INCOMPLETE = 3
DEMO_SELECTION = "mode=deterministic,version_order=dc1_newer,topology=active-passive|active-active"


def _run_experiment(experiment_file: str, only: tuple[str, ...], seed: int | None, results: str,
                    expect: tuple[str, ...], plots: bool) -> None:
    from lab.experiment import expect as expectations
    from lab.experiment import runner, spec
    from lab.experiment.report import constant_parameters, terminal_rows
    from lab.experiment.results import SUMMARY_COLUMNS

    experiment = spec.load(experiment_file)
    try:
        selection = spec.parse_only(only)
        wanted = [expectations.parse(text, SUMMARY_COLUMNS + experiment.summary_columns()) for text in expect]
    except ValueError as exc:
        raise LabError(str(exc)) from None
    result = runner.run(experiment_file, only=selection, seed=seed, results_root=results, progress=progress)
    summaries = result.summaries
    parameters = experiment.parameter_keys()
    if plots:
        from lab.html_report import write_html_report

        try:
            html = write_html_report(result.directory.path)
            progress(f"plots and HTML report: {html}")
        except Exception as exc:  # plots are a view of the results; never lose a run over them
            progress(f"could not draw the plots ({type(exc).__name__}: {exc}); results are intact")
    fixed = ", ".join(f"{k}={v}" for k, v in constant_parameters(summaries, parameters).items())
    tables.show(terminal_rows(summaries, parameters),
                title=f"{len(summaries)} cell(s); all with {fixed}" if fixed else None)
    tables.console.print(f"report: {result.directory.path / 'report.md'}\n"
                         f"cells:  {result.directory.path / 'cells.csv'}", markup=False)
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


def with_run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(run_options):
        command = option(command)
    return command


@main.command(name="run")
@click.argument("experiment_file")
@with_run_options
@friendly_errors
def run_command(experiment_file: str, only: tuple[str, ...], seed: int | None, results: str,
                expect: tuple[str, ...], plots: bool) -> None:
    """Run an experiment's matrix on real servers and write a results directory.

    Exit codes: 0 every cell completed (divergence found is reported, not an error);
    1 an --expect condition failed; 2 bad input or lab error; 3 some cell failed; 130 interrupted.
    """
    _run_experiment(experiment_file, only, seed, results, expect, plots)


@main.command()
@click.option("--flavor", default="mysql:9.7", show_default=True, help="Server flavor for the demo.")
@with_run_options
@friendly_errors
def demo(flavor: str, only: tuple[str, ...], seed: int | None, results: str, expect: tuple[str, ...],
         plots: bool) -> None:
    """The incident demo: deterministic 2-DC cells of experiments/wix-incident.yaml, all formats and guards."""
    from pathlib import Path

    experiment = Path(__file__).resolve().parent.parent / "experiments" / "wix-incident.yaml"
    _run_experiment(str(experiment), (DEMO_SELECTION + f",flavor={flavor}", *only), seed, results, expect, plots)


@main.group()
def images() -> None:
    """Find, pull or build server images."""


@images.command(name="ensure")
@click.argument("flavors", nargs=-1, required=True)
@friendly_errors
def images_ensure(flavors: tuple[str, ...]) -> None:
    """Make FLAVORS (e.g. mysql:9.7 mariadb:10.11) usable: local, pulled, or built offline; then seed a datadir."""
    from lab.images.resolve import resolve
    from lab.images.seed import seeded
    from lab.images.spec import parse_flavor

    requests = []
    for text in flavors:
        try:
            requests.append((text, parse_flavor(text)))
        except ValueError as exc:
            raise LabError(f"images ensure: {exc}") from None

    def ensure(item: tuple[str, Any]) -> str:
        text, request = item
        image = resolve(request, progress=progress)
        seed = seeded(image)
        return f"{text}: {image} ({seed.dialect.label}), seeded datadir ready"

    # Offline builds are mostly download and unpack time, so two at once roughly halve the wait.
    with ThreadPoolExecutor(max_workers=max(1, len(requests))) as pool:
        for line in pool.map(ensure, requests):
            progress(line)


if __name__ == "__main__":  # pragma: no cover
    main()


from lab.cli_check import check, repair  # noqa: E402

main.add_command(check)
main.add_command(repair)

from lab.html_report import report_command  # noqa: E402

main.add_command(report_command, name="report")
