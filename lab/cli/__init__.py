"""cli: the `lab` command, a thin layer over the library, one module per command group.

    labs    up, status, down, doctor
    run     run, demo
    images  images ensure
    check   check, repair (the divergence checker on a lab or on any servers)
    report  report (plots and report.html of a results directory)
    common  one-line errors (exit 2), progress, lab names; tables: plain terminal tables
"""

from __future__ import annotations

import click

from lab.cli.check import check, repair
from lab.cli.images import images
from lab.cli.labs import doctor, down, status_command, up
from lab.cli.report import report_command
from lab.cli.run import demo, run_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mysql-replication-lab")
def main() -> None:
    """Multi-datacenter MySQL/MariaDB replication fault-injection lab."""


for command in (up, status_command, down, doctor, run_command, demo, images, check, repair, report_command):
    main.add_command(command)

__all__ = ["main"]
