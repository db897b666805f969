"""What every command shares: one-line errors with exit 2, exit codes in help, progress on stderr, and the one way
to name a lab (`--lab NAME`, default: the only lab up)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from lab.cli import tables
from lab.db import state
from lab.errors import LabError

EXIT_DIVERGED = 1            # lab check / repair: the servers differ
EXIT_EXPECTATION_FAILED = 1  # lab run: an --expect condition failed
EXIT_ERROR = 2               # bad input or a lab error, always one line
EXIT_INCOMPLETE = 3          # lab run: a cell could not run
EXIT_INTERRUPTED = 130

# The "Exit codes:" paragraph of each command's help, so codes are stated once and read the same everywhere.
EXIT_CODES_SIMPLE = "Exit codes: 0 done; 2 bad input or lab error (one line on stderr); 130 interrupted."
EXIT_CODES_RUN = ("Exit codes: 0 every cell completed (divergence found is a result, not an error); 1 an --expect "
                  "condition failed; 2 bad input or lab error; 3 some cell failed or the run stopped; 130 interrupted.")
EXIT_CODES_CHECK = ("Exit codes: 0 in sync (repair: repaired and re-checked in sync, or nothing to repair); "
                    "1 diverged; 2 bad input or error (one line on stderr); 130 interrupted.")


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
            sys.exit(EXIT_INTERRUPTED)

    return wrapper


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print machine-readable JSON on stdout instead of tables (errors stay on stderr).")


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, default=str))


def progress(message: str) -> None:
    tables.errors.print(f"[lab] {message}", markup=False)


lab_option = click.option("--lab", "lab_name", metavar="NAME",
                          help="The running lab to act on (default: the only lab up).")


def only_lab_name(name: str | None) -> str:
    """The lab a command acts on: the one named with --lab, else the only one up."""
    if name:
        return name
    names = state.all_names()
    if len(names) == 1:
        return names[0]
    if not names:
        raise LabError("--lab: no lab is up (start one with `lab up active-active`)")
    raise LabError(f"--lab: several labs are up ({', '.join(names)}); name one with --lab NAME")


def with_options(options: list[Callable[..., Any]]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Apply a list of click options to a command, in the order listed."""

    def apply(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return apply
