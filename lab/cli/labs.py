"""`lab up`, `lab status` and `lab down`: labs on the engine."""

from __future__ import annotations

from typing import Any

import click

from lab.cli import tables
from lab.cli.common import (
    EXIT_CODES_SIMPLE,
    emit_json,
    friendly_errors,
    json_option,
    lab_option,
    only_lab_name,
    progress,
    with_options,
)
from lab.db import cleanup, state
from lab.db import topology as topo
from lab.errors import LabError

topology_overrides = [
    click.option("--flavor", help="Override every server's flavor, e.g. mysql:9.7 or mariadb:10.11."),
    click.option("--binlog-format", type=click.Choice(["STATEMENT", "ROW", "MIXED"], case_sensitive=False),
                 help="Override every server's binlog_format."),
]


@click.command(epilog=EXIT_CODES_SIMPLE)
@click.argument("topology_file", metavar="TOPOLOGY")
@click.option("--lab", "lab_name", metavar="NAME",
              help="Name of the new lab (default: the topology's name); several labs can run at once.")
@with_options(topology_overrides)
@friendly_errors
def up(topology_file: str, lab_name: str | None, flavor: str | None, binlog_format: str | None) -> None:
    """Start TOPOLOGY (a file, or a shipped name such as active-active), form its replication (links, a group,
    a cluster) and wait until it is caught up."""
    from lab.db.lab import Lab

    resolved = topo.load(topo.find(topology_file), flavor=flavor, binlog_format=binlog_format)
    lab = Lab.up(resolved, name=lab_name, progress=progress)
    lab.remember_overrides({"flavor": flavor, "binlog_format": binlog_format})
    show_lab(lab)
    progress(f"`lab status --lab {lab.name}` to watch, `lab sql --lab {lab.name} DC` for a SQL shell, "
             f"`lab down --lab {lab.name}` to remove")


def show_lab(lab: Any, full: bool = False) -> None:
    """The servers, then the links (asynchronous designs) and the members' state (a group, a cluster, semi-sync)."""
    from lab.db import status

    tables.show(status.server_rows(lab), title=f"lab {lab.name}: servers")
    if lab.topology.links:
        tables.show(status.link_rows(lab, full=full), title=f"lab {lab.name}: replication links")
    members = lab.design.members(lab)
    if members:
        tables.show(members, title=f"lab {lab.name}: {lab.design.name} members")


@click.command(name="status", epilog=EXIT_CODES_SIMPLE)
@lab_option
@click.option("--full", is_flag=True, help="Do not shorten errors and GTID sets.")
@json_option
@friendly_errors
def status_command(lab_name: str | None, full: bool, as_json: bool) -> None:
    """Servers, then per-link IO/SQL state, lag, last error and executed GTIDs or positions, then the members of
    a group or cluster."""
    from lab.db import status
    from lab.db.lab import Lab

    lab = Lab.attach(only_lab_name(lab_name))
    if as_json:
        emit_json({"lab": lab.name, "design": lab.design.name, "servers": status.server_rows(lab),
                   "links": status.link_rows(lab, full=True), "members": lab.design.members(lab)})
        return
    show_lab(lab, full)


@click.command(epilog="Exit codes: 0 removed, or nothing to remove; 2 bad input or engine error; 130 interrupted.")
@lab_option
@click.option("--all", "everything", is_flag=True, help="Remove every container and network the lab ever labelled.")
@friendly_errors
def down(lab_name: str | None, everything: bool) -> None:
    """Remove a lab's containers and network (or, with --all, every lab leftover).

    Idempotent, so it serves as a blind cleanup step: with nothing up, or a lab already removed, it removes
    nothing and exits 0. Without --lab it removes the only lab up; with several up it asks for --lab.
    """
    if lab_name and everything:
        raise LabError("--all removes every lab; drop --lab NAME (or --all)")
    if not everything and not lab_name and not state.all_names():
        progress("no lab is up; nothing to remove")
        return
    target = None if everything else only_lab_name(lab_name)
    containers, networks = cleanup.remove_lab(target)
    progress(f"removed {containers} container(s) and {networks} network(s)")
