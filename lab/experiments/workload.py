"""Workload experiments (`kind: workload`): any application model of lab.workloads across DCs."""

from __future__ import annotations

import itertools
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from lab.experiments.common import (
    BINLOG_FORMATS,
    ExperimentName,
    TimelineEntry,
    _Strict,
    check_clocks,
    check_flavors,
    check_guards,
    check_timeline,
    check_topologies,
)
from lab.results import schema
from lab.workloads import Workload
from lab.yamlfile import FieldProblem

WORKLOAD_MODES = ("concurrent", "deterministic", "single_dc")
EXEC_MODES = ("STRICT", "IDEMPOTENT")


class WorkloadTraffic(_Strict):
    clients_per_dc: int = Field(2, ge=1, le=64)
    duration: float = Field(4.0, gt=0, le=3600, description="seconds over which the planned operations are spread")


class WorkloadExperiment(_Strict):
    """An application model (lab.workloads) run across DCs: its matrix, traffic, faults and settings.

    Matrix keys: `topology`, `binlog_format`, `flavor` (required); `mode` (concurrent: both DCs take
    traffic while replication runs; deterministic: every applier is held while they do; single_dc: all
    traffic on dc1); `exec_mode` (STRICT or IDEMPOTENT on every replication link); `guard`, for
    workloads whose updates are guarded; and the workload's own knobs.
    """

    kind: Literal["workload"]
    name: ExperimentName
    description: str = ""
    seed: int = 1
    workload: dict[str, Any]
    matrix: dict[str, list[Any]]
    traffic: WorkloadTraffic = Field(default_factory=WorkloadTraffic)
    clock_skew_ms: dict[str, int] = Field(default_factory=dict, description="per-DC application clock skew")
    timeline: list[TimelineEntry] = Field(default_factory=list)
    sample_interval: float = Field(1.0, gt=0, le=60)
    _settings: Any = PrivateAttr(None)

    @field_validator("workload")
    @classmethod
    def _workload(cls, value: dict[str, Any]) -> dict[str, Any]:

        name = value.get("name")
        if name not in Workload.registry:
            raise FieldProblem("name", f"unknown workload {name!r}",
                               f"use one of: {', '.join(sorted(Workload.registry))}")
        model = Workload.registry[name].settings_model
        try:
            model.model_validate({k: v for k, v in value.items() if k != "name"})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(settings)"
            problem = f"unknown key {first['loc'][-1]!r}" if first["type"] == "extra_forbidden" else first["msg"]
            raise FieldProblem(where, problem.removeprefix("Value error, ")) from None
        return value

    @model_validator(mode="after")
    def _matrix(self) -> WorkloadExperiment:
        workload = self.workload_class()
        allowed = {"topology", "binlog_format", "flavor", "mode", "exec_mode", *workload.knobs}
        if workload.uses_guard:
            allowed.add("guard")
        for key, values in self.matrix.items():
            if key not in allowed:
                fix = (f"the {workload.name} workload does not use update guards; remove it" if key == "guard"
                       else f"use: {', '.join(sorted(allowed))}")
                raise FieldProblem(f"matrix.{key}", "not a dimension of this workload's matrix", fix)
            if not isinstance(values, list) or not values:
                raise FieldProblem(f"matrix.{key}", "must be a non-empty list")
        for key in ("topology", "binlog_format", "flavor"):
            if key not in self.matrix:
                raise FieldProblem(f"matrix.{key}", "is required", "add it")
        self._settings = workload.settings_model.model_validate(  # checked by `_workload`; parsed once here
            {k: v for k, v in self.workload.items() if k != "name"})
        self.matrix = {key: [str(v) for v in values] for key, values in self.matrix.items()}
        self.matrix["binlog_format"] = [v.upper() for v in self.matrix["binlog_format"]]
        choices = {"binlog_format": BINLOG_FORMATS, "mode": WORKLOAD_MODES, "exec_mode": EXEC_MODES,
                   **workload.knobs}
        checks = {"topology": check_topologies, "flavor": check_flavors, "guard": check_guards}
        for key, values in self.matrix.items():
            try:
                if key in checks:
                    checks[key](values)
            except ValueError as exc:
                raise FieldProblem(f"matrix.{key}", str(exc)) from None
            allowed = choices.get(key)
            if allowed is int:
                bad = [v for v in values if not v.isdigit()]
                if bad:
                    raise FieldProblem(f"matrix.{key}", f"{bad[0]!r} is not a whole number", "use e.g. [0, 2]")
            elif isinstance(allowed, tuple):
                bad = [v for v in values if v not in allowed]
                if bad:
                    raise FieldProblem(f"matrix.{key}", f"unknown value {bad[0]!r}", f"use: {', '.join(allowed)}")
        check_timeline(self.timeline, self.matrix["topology"])
        check_clocks(self.clock_skew_ms, self.matrix["topology"])
        return self

    def workload_class(self) -> type:

        return Workload.registry[self.workload["name"]]

    def parameter_keys(self) -> list[str]:
        """Every matrix dimension of a cell, in a fixed order: the lab's own first, then the workload's knobs."""
        workload = self.workload_class()
        keys = ["topology", "binlog_format", *(["guard"] if workload.uses_guard else []), "flavor", "mode",
                "exec_mode", *workload.knobs]
        return keys

    def _values(self, key: str) -> list[str]:
        defaults = {"mode": ["concurrent"], "exec_mode": ["STRICT"], "guard": ["strict"]}
        allowed = self.workload_class().knobs.get(key)
        default = "0" if allowed is int else allowed[0] if allowed else None
        return self.matrix.get(key) or defaults.get(key) or [str(default)]

    def cells(self) -> list[dict[str, str]]:
        keys = self.parameter_keys()
        return [dict(zip(keys, combination, strict=True))
                for combination in itertools.product(*(self._values(key) for key in keys))]

    def summary_columns(self) -> list[str]:
        """cells.csv columns beyond the lab's own: the parameters of its own, invariants, attributions, counts."""
        workload = self.build(self.cells()[0])
        return [*self.parameter_keys(), *schema.workload_columns(
            [invariant.name for invariant in workload.invariants()], list(workload.operations),
            list(workload.count_columns))]

    def build(self, parameters: dict[str, str]) -> Any:
        """The workload object for one cell: its settings from the file, its knobs from the cell."""
        return self.workload_class()(self._settings, parameters)


