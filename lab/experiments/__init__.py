"""experiments: experiment files, the inputs of a run. The matrix of parameters and the scenario, never outcomes.

    incident   the 2019 overlap, forced cell by cell (`kind: incident`, the default)
    timeline   traffic that shifts between DCs, with faults at given times (`kind: timeline`)
    workload   any application model of lab.workloads across DCs (`kind: workload`)
    common     strict models, matrix value checks, the fix, fault timeline entries
    jsonschema the JSON Schema of experiment and topology files (`lab schema`), from the same models

`load(path)` (a path, or a shipped experiment's name) validates a file completely (one-line errors naming
the file and field) before anything starts; the runner (lab.runner) turns each cell of its matrix into steps.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel

from lab import plugins, shipped, yamlfile
from lab.errors import ConfigError
from lab.experiments.common import BINLOG_FORMATS, MATRIX_KEYS, Fix, TimelineEntry
from lab.experiments.incident import Experiment, Scenario
from lab.experiments.timeline import TimelineExperiment
from lab.experiments.workload import EXEC_MODES, WORKLOAD_MODES, WorkloadExperiment

AnyExperiment = Experiment | TimelineExperiment | WorkloadExperiment


def known_keys() -> set[str]:
    """Every matrix key any experiment kind knows: what `--only` may name before a file is read."""
    from lab.workloads import Workload

    knobs = {knob for workload in Workload.registry.values() for knob in workload.knobs}
    return {*MATRIX_KEYS, "exec_mode", *knobs}


def cell_id(parameters: dict[str, str]) -> str:
    """The cell's parameter values in order, joined: `active-active.ROW.strict.mysql-9.7...`."""
    return ".".join(str(value).replace(":", "-") for value in parameters.values())


def parse_only(expressions: tuple[str, ...] | list[str], keys: Iterable[str] | None = None) -> dict[str, set[str]]:
    """`--only` expressions -> {key: allowed values}. Values of one key are alternatives (repeat `--only
    guard=strict --only guard=gte`, or `guard=strict|gte` quoted); different keys must all match.
    `keys`: the matrix keys of the experiment at hand (default: every kind's), listed in the error."""
    valid = set(keys) if keys is not None else known_keys()
    shown = ", ".join(keys) if keys is not None else ", ".join(sorted(valid))
    selection: dict[str, set[str]] = {}
    for expression in expressions:
        for part in filter(None, expression.split(",")):
            key, _, value = part.partition("=")
            key = key.strip()
            if key not in valid or not value:
                raise ValueError(f"--only {part!r}: expected KEY=VALUE with KEY one of {shown}")
            selection.setdefault(key, set()).update(v.strip() for v in value.split("|"))
    return selection


def unmatched(cells: list[dict[str, str]], selection: dict[str, set[str]]) -> str:
    """Why a selection picks no cell, naming the first value no cell has and the values there are."""
    for key, wanted in selection.items():
        present = list(dict.fromkeys(cell[key] for cell in cells if key in cell))
        missing = sorted(v for v in wanted if v.upper() not in {p.upper() for p in present})
        if missing:
            return f"--only {key}={missing[0]}: no cell of the matrix has it ({key} values: {', '.join(present)})"
    chosen = ", ".join(f"{key}={'|'.join(sorted(values))}" for key, values in selection.items())
    return f"--only {chosen}: each value exists, but no cell has them all together"


def select(cells: list[dict[str, str]], selection: dict[str, set[str]]) -> list[dict[str, str]]:
    def keep(cell: dict[str, str]) -> bool:
        return all(key in cell and cell[key].upper() in {v.upper() for v in wanted}
                   for key, wanted in selection.items())

    return [cell for cell in cells if keep(cell)]


KINDS: dict[str, type[BaseModel]] = {"incident": Experiment, "timeline": TimelineExperiment,
                                     "workload": WorkloadExperiment}


def find(name_or_path: str | Path) -> Path:
    """A path, or a name: `./experiments/NAME.yaml` (a `lab init` copy) first, else the shipped experiment."""
    return shipped.find("experiments", name_or_path)


def load(path: str | Path) -> AnyExperiment:
    """Load an experiment file (or a shipped one, by name); its `kind` (incident by default, timeline, workload)
    picks the model. Plugins' workloads, guards and faults are registered first, so their names validate."""
    plugins.load()
    path = find(path)
    data = yamlfile.read_mapping(path)
    kind = data.get("kind", "incident")
    if kind not in KINDS:
        raise ConfigError(str(path), "kind", f"unknown experiment kind {kind!r}", f"use one of: {', '.join(KINDS)}")
    return yamlfile.validate(KINDS[kind], data, str(path))


__all__ = ["BINLOG_FORMATS", "EXEC_MODES", "KINDS", "MATRIX_KEYS", "WORKLOAD_MODES", "AnyExperiment", "Experiment",
           "Fix", "Scenario", "TimelineEntry", "TimelineExperiment", "WorkloadExperiment", "cell_id", "find",
           "known_keys", "load", "parse_only", "select", "unmatched"]
