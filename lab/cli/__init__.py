"""cli: the `lab` command, a thin layer over the library, one module per command group.

    labs    up, status, down
    connect sql, env (one server of a running lab, by hand or from other tools)
    doctor  doctor (what this host can run)
    run     run, demo
    files   init, validate, schema (the input files, without an engine)
    images  images ensure
    check   check, repair (the divergence checker on a lab or on any servers)
    report  report (plots and report.html of a results directory; merges shards)
    common  one-line errors (exit 2), progress, lab names; tables: plain terminal tables
"""

from __future__ import annotations

import sys

import click

from lab.cli import tables
from lab.cli.check import check, repair
from lab.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, friendly_errors
from lab.cli.connect import env, sql
from lab.cli.doctor import doctor
from lab.cli.files import init, schema, validate
from lab.cli.images import images
from lab.cli.labs import down, status_command, up
from lab.cli.report import report_command
from lab.cli.run import demo, run_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mysql-replication-lab")
def main() -> None:
    """Multi-datacenter MySQL/MariaDB replication fault-injection lab."""


for command in (init, validate, schema, up, status_command, down, sql, env, doctor, run_command, demo, images,
                check, repair, report_command):
    main.add_command(command)


def entry(argv: list[str] | None = None) -> None:
    """The `lab` command: `main` with usage errors as one line naming the option (exit 2), like every other
    bad input, instead of click's usage block."""
    from lab import plugins

    try:
        friendly_errors(plugins.load)()   # third-party workloads, guards and faults, before any file is read
        main.main(args=argv, prog_name="lab", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.exceptions.Abort:
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        command = exc.ctx.command_path if isinstance(exc, click.UsageError) and exc.ctx else "lab"
        tables.errors.print(f"error: {command}: {' '.join(exc.format_message().split())} "
                            f"(see `{command} --help`)", markup=False)
        sys.exit(EXIT_ERROR)


__all__ = ["entry", "main"]
