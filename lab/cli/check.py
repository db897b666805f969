"""`lab check` and `lab repair`: the divergence checker on a running lab or on any servers.

Exit codes: 0 in sync (or repaired and re-checked in sync), 1 diverged, 2 error (one line).
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import click

from lab.checker import compare_table, output, targets
from lab.checker import repair as repairs
from lab.checker.result import CheckResult
from lab.cli import tables
from lab.cli.common import (
    EXIT_CODES_CHECK,
    EXIT_DIVERGED,
    friendly_errors,
    json_option,
    lab_option,
    only_lab_name,
    progress,
)
from lab.db.sql import Endpoint
from lab.errors import LabError

RECHECK_TIMEOUT = 30.0


class Targets:
    """The endpoints to compare and, for a lab, how to wait for replication and which DC reaches which."""

    def __init__(self, endpoints: dict[str, Endpoint], lab: Any = None) -> None:
        self.endpoints, self.lab = endpoints, lab

    @property
    def label(self) -> str:
        return f"lab {self.lab.name}" if self.lab else ", ".join(self.endpoints)

    def catch_up(self) -> None:
        if self.lab is None:
            return
        result = self.lab.catch_up()
        if not result.caught_up:
            progress("warning: replication is not caught up; checking anyway\n" + result.summary())

    def reaches_all(self, dc: str) -> bool:
        """Does replication from `dc`'s primary reach every other server of the lab?"""
        if self.lab is None:
            return False
        start = self.lab.topology.dcs[dc]
        seen, todo = {start}, deque([start])
        while todo:
            server = todo.popleft()
            for link in self.lab.topology.links:
                if link.source == server and link.replica not in seen:
                    seen.add(link.replica)
                    todo.append(link.replica)
        return seen >= set(self.lab.servers)


def _targets(lab_name: str | None, dc_specs: tuple[str, ...], password_file: str | None,
             defaults_file: str | None = None) -> Targets:
    if dc_specs:
        if lab_name:
            raise LabError("give either --lab or --dc, not both")
        return Targets(targets.endpoints_from_urls(dc_specs, os.environ, password_file, defaults_file))
    for name, given in (("--password-file", password_file), ("--defaults-file", defaults_file)):
        if given:
            raise LabError(f"{name} {given}: it is for --dc servers; a lab's own credentials are used for --lab")
    from lab.db.lab import Lab

    lab = Lab.attach(only_lab_name(lab_name))
    return Targets({dc: lab.primary(dc).endpoint for dc in lab.topology.dcs}, lab)


def target_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        lab_option,   # a running lab: its DC primaries are compared
        click.option("--dc", "dc_specs", multiple=True, metavar="NAME=URL",
                     help="A server to compare (repeat; the first is the reference). For example:\n\n"
                          "\b\n"
                          "--dc dc1=mysql://app@db1:3306/shop\n"
                          "--dc dc2=mysql+pymysql://db2/shop  (user from the option file)\n"
                          "--dc 'dc3=mysql://app@db3/shop?ssl-mode=REQUIRED'\n"
                          "--dc 'dc4=mysql://app@localhost/shop?socket=/run/mysqld/mysqld.sock'\n\n"
                          "Schemes mysql, mariadb, mysql+pymysql, mariadb+pymysql. Quote a URL holding ? or & "
                          "for the shell. Parameters: ssl-mode (DISABLED, PREFERRED, REQUIRED, VERIFY_CA, "
                          "VERIFY_IDENTITY), ssl-ca, ssl-cert, ssl-key, socket (host localhost or none), "
                          "connect-timeout, charset=utf8mb4. Password, first found: LAB_CHECK_PASSWORD_<NAME>, "
                          "--password-file, the option file, LAB_CHECK_PASSWORD; never in the URL."),
        click.option("--password-file", type=click.Path(dir_okay=False),
                     help="Lines NAME=PASSWORD, or one line with the password of every DC."),
        click.option("--defaults-file", type=click.Path(dir_okay=False),
                     help="A MySQL option file whose [client] group (user, password, host, port, socket, "
                          "database, ssl-*) fills what a --dc URL leaves out; only this file is read. "
                          "Default: ~/.my.cnf when it exists, as the mysql client."),
        click.option("--table", required=True, help="TABLE or SCHEMA.TABLE (default schema: the URL's, else lab)."),
        click.option("--no-snapshot", is_flag=True, help="Do not read inside a consistent snapshot."),
        click.option("--chunk-time", type=float, default=0.5, show_default=True,
                     help="Target seconds per chunk query (bounds the load on each server)."),
        click.option("--parallel", type=click.IntRange(1, 64), default=1, show_default=True, metavar="N",
                     help="Walk N parts of the key space at once, on N connections per server sharing one "
                          "snapshot (taken while the table is locked for reading a moment): up to N queries per "
                          "server at a time. Integer primary keys only; others are walked in one part."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run_check(found: Targets, table: str, no_snapshot: bool, chunk_time: float, parallel: int) -> CheckResult:
    found.catch_up()
    return compare_table(found.endpoints, table, snapshot=not no_snapshot, chunk_time=chunk_time,
                         progress=progress, parallel=parallel)


def _emit(result: CheckResult, output_format: str, wide: bool) -> None:
    frame = result.rows if wide else result.differences
    if output_format == "json":
        click.echo(output.to_json(result))
    elif output_format == "csv":
        click.echo(output.to_csv(frame), nl=False)
    else:
        if not result.in_sync:
            tables.show(output.table_rows(frame), title="diverged rows" if wide else "differences")
        click.echo(result.summary())


@click.command(epilog=EXIT_CODES_CHECK)
@target_options
@click.option("--format", "output_format", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True,
              help="table: the differences, then a summary line; csv: one line per differing column (with "
                   "--wide: per diverged key); json: the verdict, the counts and every difference.")
@click.option("--wide", is_flag=True, help="One line per diverged key with every DC's values (table/csv).")
@json_option
@friendly_errors
def check(lab_name: str | None, dc_specs: tuple[str, ...], password_file: str | None, defaults_file: str | None,
          table: str, no_snapshot: bool, chunk_time: float, parallel: int, output_format: str, wide: bool,
          as_json: bool) -> None:
    """Find the exact rows of TABLE that differ between DCs (exit 0 in sync, 1 diverged, 2 error).

    --json is --format json: the verdict, the counts and every difference, on stdout.
    """
    output_format = "json" if as_json else output_format
    found = _targets(lab_name, dc_specs, password_file, defaults_file)
    result = _run_check(found, table, no_snapshot, chunk_time, parallel)
    _emit(result, output_format, wide)
    if not result.in_sync:
        sys.exit(EXIT_DIVERGED)


def _mode(found: Targets, via: str | None, through: str) -> repairs.Mode:
    if via == "local":
        return "local"
    if via == "source":
        return "source"
    return "source" if found.reaches_all(through) else "local"


@click.command(epilog=EXIT_CODES_CHECK)
@target_options
@click.option("--winner", "winner_text", required=True, metavar="dc=NAME|version=COLUMN|timestamp=COLUMN",
              help="Which state wins for each diverged key.")
@click.option("--apply", "do_apply", is_flag=True, help="Execute the SQL (default: print it only), then re-check.")
@click.option("--via", type=click.Choice(["local", "source"]),
              help="local: each DC with sql_log_bin=0; source: one DC with the binlog on, so it replicates. "
                   "Default for a lab: source when replication from --through reaches every server, else local; "
                   "for --dc servers: local.")
@click.option("--through", help="The DC to run through in source mode (default: the winner DC, else the first).")
@friendly_errors
def repair(lab_name: str | None, dc_specs: tuple[str, ...], password_file: str | None, defaults_file: str | None,
           table: str, no_snapshot: bool, chunk_time: float, parallel: int, winner_text: str, do_apply: bool,
           via: str | None, through: str | None) -> None:
    """Print (or --apply) SQL that makes every DC equal to a winner, then re-check."""
    policy = repairs.Policy.parse(winner_text)
    found = _targets(lab_name, dc_specs, password_file, defaults_file)
    result = _run_check(found, table, no_snapshot, chunk_time, parallel)
    if result.in_sync:
        click.echo(result.summary() + "; nothing to repair")
        return
    plan = repairs.plan(result, policy)
    through = through or (policy.value if policy.kind == "dc" else result.dcs[0])
    if through not in result.dcs:
        raise LabError(f"--through {through}: not one of {', '.join(result.dcs)}")
    mode = _mode(found, via, through)
    click.echo(plan.render(mode, through), nl=False)
    if plan.ties:
        progress(f"warning: {plan.tie_warning()}")
    if not do_apply:
        progress("dry run: nothing executed (add --apply)")
        return
    count = repairs.apply(plan, found.endpoints, mode, through)
    how = (f"through the source {through} with the binary log on (replicates)" if mode == "source"
           else "locally on each DC with sql_log_bin=0 (not replicated)")
    progress(f"applied {count} statement(s) {how}")
    after = _recheck(found, table, no_snapshot, chunk_time, parallel, wait=mode == "source")
    click.echo(f"re-check: {after.summary()}")
    if not after.in_sync:
        sys.exit(EXIT_DIVERGED)


def _recheck(found: Targets, table: str, no_snapshot: bool, chunk_time: float, parallel: int,
             wait: bool) -> CheckResult:
    """Check again; servers outside a lab get up to RECHECK_TIMEOUT seconds for replication to deliver."""
    deadline = time.monotonic() + (RECHECK_TIMEOUT if wait and found.lab is None else 0)
    while True:
        result = _run_check(found, table, no_snapshot, chunk_time, parallel)
        if result.in_sync or time.monotonic() > deadline:
            return result
        time.sleep(1.0)
