"""`lab sql` and `lab env`: reach one server of a running lab by hand or from other tools.

The password never goes on a command line, where `ps` and shell history would show it: `lab sql` copies a
0600 option file into the container and runs the server's own client with `--defaults-extra-file`; `lab env`
writes a 0600 option file on the host (removed with the lab) and prints its path with the other settings.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from typing import Any

import click

from lab.cli.common import emit_json, friendly_errors, json_option, lab_option, only_lab_name
from lab.db import state
from lab.db.server import SCHEMA, Server, lab_archive
from lab.errors import LabError

CLIENT_FILE = "/lab/client.cnf"


def option_file(user: str, password: str, host: str, port: int, database: str) -> str:
    """A [client] option file as the mysql and mariadb clients (and pt-toolkit) read it."""
    quoted = password.replace("\\", "\\\\").replace('"', '\\"')
    return (f"[client]\nuser={user}\npassword=\"{quoted}\"\nhost={host}\nport={port}\ndatabase={database}\n")


def _target(lab: Any, dc: str) -> Server:
    """A DC's primary, or any server of the lab by its name."""
    if dc in lab.topology.dcs:
        return lab.primary(dc)
    if dc in lab.servers:
        return lab.servers[dc]
    raise LabError(f"DC {dc!r}: lab {lab.name!r} has DCs {', '.join(lab.topology.dcs)} and servers "
                   f"{', '.join(lab.servers)}; give one of them")


def _attached(lab_name: str | None, dc: str) -> tuple[Any, Server]:
    from lab.db.lab import Lab

    lab = Lab.attach(only_lab_name(lab_name))
    return lab, _target(lab, dc)


def _client_binary(server: Server) -> str:
    """The server's own client inside its container."""
    candidates = server.dialect.clients
    probe = " || ".join(f"command -v {name}" for name in candidates)
    found = server.container.exec_run(["sh", "-c", probe])
    path = found.output.decode().strip().splitlines()
    if found.exit_code != 0 or not path:
        raise LabError(f"server {server.name}: its image has no {' or '.join(candidates)} client; "
                       "install one in the image, or connect from the host with `lab env`")
    return path[0]


@click.command(epilog="Exit codes: the client's own: 0 success, 1 an SQL error; 2 bad input or lab error.")
@lab_option
@click.argument("dc", metavar="DC")
@click.option("-e", "--execute", "statement", metavar="STATEMENT",
              help="Run STATEMENT and exit (as `mysql -e`), instead of an interactive shell.")
@friendly_errors
def sql(lab_name: str | None, dc: str, statement: str | None) -> None:
    """Open the server's own SQL client (mysql or mariadb) on DC's primary, inside its container.

    DC is a DC name (its primary) or a server name. Without -e and with a terminal, an interactive shell;
    with input piped in, the statements read from stdin (`lab sql dc1 < fix.sql`).
    """
    lab, server = _attached(lab_name, dc)
    docker = shutil.which("docker")
    if docker is None:
        raise LabError("lab sql: needs the `docker` command-line client on PATH (Debian: apt-get install docker.io)")
    credentials = lab.credentials
    server.container.put_archive("/lab", lab_archive(
        {CLIENT_FILE.rsplit("/", 1)[-1]: option_file(credentials.admin_user, credentials.admin_password,
                                                     "127.0.0.1", 3306, SCHEMA)}, uid=0))
    client = _client_binary(server)
    interactive = sys.stdin.isatty() and statement is None
    command = [docker, "exec", "-it" if interactive else "-i", server.container.name, client,
               f"--defaults-extra-file={CLIENT_FILE}", "--protocol=TCP"]
    if statement is not None:
        command += ["-e", statement]
    sys.exit(subprocess.call(command))


@click.command(epilog="Exit codes: 0 printed; 2 bad input or lab error.")
@lab_option
@click.argument("dc", metavar="DC")
@click.option("--format", "output_format", type=click.Choice(["shell", "dsn", "cnf"]), default="shell",
              show_default=True,
              help="shell: export lines for `eval \"$(lab env dc1)\"`; dsn: a URL for `lab check --dc`; "
                   "cnf: the path of the 0600 option file only.")
@json_option
@friendly_errors
def env(lab_name: str | None, dc: str, output_format: str, as_json: bool) -> None:
    """Print how other tools reach DC's primary (or a server by name) from this host.

    The password is only in a 0600 option file (removed by `lab down`): `mysql --defaults-extra-file=FILE`,
    `pt-table-checksum --defaults-file=FILE`, `lab check --defaults-file FILE`.
    """
    lab, server = _attached(lab_name, dc)
    endpoint, credentials = server.endpoint, lab.credentials
    path = state.client_file(lab.name, server.name)
    state.write_private(path, option_file(credentials.admin_user, credentials.admin_password, endpoint.host,
                                          endpoint.port, SCHEMA))
    dsn = f"mysql://{endpoint.user}@{endpoint.host}:{endpoint.port}/{SCHEMA}"
    facts = {"lab": lab.name, "dc": server.dc, "server": server.name, "host": endpoint.host,
             "port": endpoint.port, "user": endpoint.user, "database": SCHEMA, "defaults_file": str(path),
             "dsn": dsn, "server_version": server.dialect.label}
    if as_json:
        emit_json(facts)
    elif output_format == "dsn":
        click.echo(dsn)
    elif output_format == "cnf":
        click.echo(str(path))
    else:
        # click.echo, not the rich console: these lines are eval'ed and must never be wrapped
        click.echo(f"# lab {lab.name}, DC {server.dc}: server {server.name} ({server.dialect.label})")
        for key, value in (("MYSQL_HOST", endpoint.host), ("MYSQL_TCP_PORT", endpoint.port),
                           ("LAB_USER", endpoint.user), ("LAB_DATABASE", SCHEMA), ("LAB_DEFAULTS_FILE", path),
                           ("LAB_DSN", dsn)):
            click.echo(f"export {key}={shlex.quote(str(value))}")
        click.echo('# then: mysql --defaults-extra-file="$LAB_DEFAULTS_FILE"')


__all__ = ["env", "option_file", "sql"]
