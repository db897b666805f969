"""`lab init`, `lab validate` and `lab schema`: the lab's input files, without an engine.

Exit codes: 0 every file is valid (or written); 2 a file is not, one line per file, naming the field.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from lab import experiments, shipped
from lab.cli import tables
from lab.cli.common import EXIT_ERROR, friendly_errors, progress
from lab.db import topology as topo
from lab.errors import LabError
from lab.yamlfile import read_mapping


def kind_of(path: Path) -> str:
    """`topology` or `experiment`, from what the file holds (a topology has servers, an experiment a matrix)."""
    data = read_mapping(path)
    return "topology" if "servers" in data or "replication" in data else "experiment"


def resolve(name: str) -> Path:
    """A path, or a shipped file's name (an experiment or a topology)."""
    for kind in ("experiments", "topologies"):
        found = shipped.find(kind, name)
        if found.exists():
            return found
    return Path(name)


@click.command(epilog="Exit codes: 0 copied (files already there are kept); 2 the directory cannot be written.")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@friendly_errors
def init(directory: Path) -> None:
    """Copy the shipped topologies and experiments into DIRECTORY, as a starting point to edit.

    Files already there are kept. Run the lab from DIRECTORY: `lab run experiments/NAME.yaml` then reads
    your copies, and a topology named in an experiment is looked up in ./topologies first.
    """
    copied = shipped.init(directory)
    progress(f"copied {len(copied)} file(s) into {directory} (topologies/, experiments/)")


@click.command(epilog="Exit codes: 0 every file is valid; 2 one is not (one line each, naming the field).")
@click.argument("files", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file on stdout.")
def validate(files: tuple[str, ...], as_json: bool) -> None:
    """Check topology and experiment FILES (paths or shipped names), every field and fault, without an engine."""
    from lab import plugins

    reports, failed = [], False
    for name in files:
        path = resolve(name)
        try:
            plugins.load()
            if kind_of(path) == "topology":
                loaded = topo.load(path)
                report = {"file": str(path), "valid": True, "kind": "topology",
                          "servers": len(loaded.servers), "links": len(loaded.links)}
            else:
                experiment = experiments.load(path)
                report = {"file": str(path), "valid": True, "kind": f"experiment ({experiment.kind})",
                          "cells": len(experiment.cells())}
        except LabError as exc:
            report, failed = {"file": str(path), "valid": False, "error": str(exc)}, True
        reports.append(report)
    if as_json:
        for report in reports:
            click.echo(json.dumps(report))
    else:
        for report in reports:
            if report["valid"]:
                detail = ", ".join(f"{k} {v}" for k, v in report.items() if k not in ("file", "valid"))
                click.echo(f"ok: {report['file']} ({detail})")
            else:
                tables.errors.print(f"error: {report['error']}", markup=False)
    if failed:
        sys.exit(EXIT_ERROR)


@click.command(epilog="Exit codes: 0 printed; 2 WHAT is neither experiment nor topology.")
@click.argument("what", type=click.Choice(["experiment", "topology"]))
def schema(what: str) -> None:
    """Print the JSON Schema of experiment or topology files, for editors (e.g. yaml-language-server)."""
    from lab import plugins
    from lab.experiments.jsonschema import experiment_schema, topology_schema

    plugins.load()
    click.echo(json.dumps(experiment_schema() if what == "experiment" else topology_schema(), indent=2))
