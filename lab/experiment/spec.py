"""Experiment files: the matrix of parameters and the scenario's inputs. Never its expected outcomes."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from lab import yamlfile
from lab.errors import ConfigError
from lab.images.spec import parse_flavor
from lab.topology import find as find_topology
from lab.workload.guards import Guard
from lab.workload.plan import TrafficSpec
from lab.yamlfile import FieldProblem

MATRIX_KEYS = ("topology", "binlog_format", "guard", "flavor", "mode", "version_order")
BINLOG_FORMATS = ("STATEMENT", "ROW", "MIXED")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def upper_formats(value: object) -> object:
    return [v.upper() if isinstance(v, str) else v for v in value] if isinstance(value, list) else value


def check_guards(value: list[str]) -> list[str]:
    for name in value:
        if name not in Guard.registry:
            raise ValueError(f"unknown guard {name!r}; known: {', '.join(sorted(Guard.registry))}")
    return value


def check_flavors(value: list[str]) -> list[str]:
    for text in value:
        parse_flavor(text)
    return value


def check_topologies(value: list[str]) -> list[str]:
    for name in value:
        if not find_topology(name).exists():
            raise ValueError(f"no topology file for {name!r} (looked in topologies/)")
    return value


class Matrix(_Strict):
    topology: list[str] = Field(min_length=1)
    binlog_format: list[Literal["STATEMENT", "ROW", "MIXED"]] = Field(min_length=1)
    guard: list[str] = Field(min_length=1)
    flavor: list[str] = Field(min_length=1)
    mode: list[Literal["deterministic", "concurrent"]] = Field(["deterministic"], min_length=1)
    version_order: list[Literal["dc1_newer", "dc2_newer"]] = Field(["dc1_newer"], min_length=1)

    _upper = field_validator("binlog_format", mode="before")(upper_formats)
    _guards = field_validator("guard")(check_guards)
    _flavors = field_validator("flavor")(check_flavors)
    _topologies = field_validator("topology")(check_topologies)


class OverlapWrite(_Strict):
    """What one DC's application writes during the overlap, on every conflict row."""

    value: str
    version: int


class LeaderWrite(_Strict):
    row: int
    value: str
    version_increment: int = Field(1000, ge=1)


class Concurrent(_Strict):
    """Concurrent mode: both DCs write the conflict rows while replication keeps running."""

    seconds: float = Field(2.0, gt=0, le=600)
    rate_per_dc: float = Field(50.0, gt=0, description="guarded read-modify-writes per second per DC")
    clients_per_dc: int = Field(1, ge=1, le=64)
    clock_skew_ms: int = Field(50, ge=0, description="how far the newer DC's clock runs ahead")


class Fix(_Strict):
    """What changes after the first check: a guard, a binlog format, or both."""

    guard: str | None = None
    binlog_format: Literal["STATEMENT", "ROW", "MIXED"] | None = None

    @field_validator("guard")
    @classmethod
    def _guard(cls, value: str | None) -> str | None:
        if value is not None and value not in Guard.registry:
            raise ValueError(f"unknown guard {value!r}; known: {', '.join(sorted(Guard.registry))}")
        return value

    @model_validator(mode="after")
    def _something(self) -> Fix:
        if self.guard is None and self.binlog_format is None:
            raise FieldProblem("guard", "a fix must change the guard, the binlog_format, or both")
        return self


class Scenario(_Strict):
    table: str = "users"
    initial_value: str = "John"
    initial_version: int = 1542286500000
    conflict_rows: list[int] = Field(min_length=1)
    control_rows: list[int] = Field(default_factory=list, description="rows only the leader ever writes")
    leader_updates: int = Field(3, ge=0, description="leader-only updates per control row before the overlap")
    overlap: dict[Literal["dc1", "dc2"], OverlapWrite]
    leader_after: Literal["dc1", "dc2"] = "dc1"
    leader_writes: list[LeaderWrite] = Field(default_factory=list)
    concurrent: Concurrent = Field(default_factory=Concurrent)

    @model_validator(mode="after")
    def _rows(self) -> Scenario:
        if set(self.overlap) != {"dc1", "dc2"}:
            raise FieldProblem("overlap", "needs a write for both dc1 and dc2")
        if set(self.conflict_rows) & set(self.control_rows):
            raise FieldProblem("control_rows", "a row cannot be both a conflict row and a control row")
        for index, write in enumerate(self.leader_writes):
            if write.row not in self.conflict_rows + self.control_rows:
                raise FieldProblem(f"leader_writes.{index}.row", f"row {write.row} is not seeded",
                                   "use one of conflict_rows or control_rows")
        return self


class Experiment(_Strict):
    kind: Literal["incident"] = "incident"
    name: str
    description: str = ""
    seed: int = 1
    matrix: Matrix
    scenario: Scenario
    fix: Fix | None = None

    def parameter_keys(self) -> list[str]:
        return list(MATRIX_KEYS)

    def summary_columns(self) -> list[str]:
        return []

    def cells(self) -> list[dict[str, str]]:
        """The cartesian product of the matrix, in file order."""
        values = [getattr(self.matrix, key) for key in MATRIX_KEYS]
        return [dict(zip(MATRIX_KEYS, combination, strict=True)) for combination in itertools.product(*values)]


class TimelineMatrix(_Strict):
    topology: list[str] = Field(min_length=1)
    binlog_format: list[Literal["STATEMENT", "ROW", "MIXED"]] = Field(min_length=1)
    guard: list[str] = Field(min_length=1)
    flavor: list[str] = Field(min_length=1)

    _upper = field_validator("binlog_format", mode="before")(upper_formats)
    _guards = field_validator("guard")(check_guards)
    _flavors = field_validator("flavor")(check_flavors)
    _topologies = field_validator("topology")(check_topologies)


class TimelineEntry(_Strict):
    """`at` seconds after traffic starts, start `fault`; heal it `for` seconds later (or at the end)."""

    at: float = Field(ge=0)
    fault: dict[str, Any]
    duration: float | None = Field(None, alias="for", gt=0)

    @field_validator("fault")
    @classmethod
    def _fault(cls, value: dict[str, Any]) -> dict[str, Any]:
        from lab.faults import kinds

        if "type" not in value:
            raise ValueError("a fault needs a `type`, e.g. {type: partition, between: [dc1, dc2]}")
        if value["type"] not in kinds():
            raise ValueError(f"unknown fault type {value['type']!r}; known: {', '.join(kinds())}")
        return value


class TimelineExperiment(_Strict):
    """Traffic that shifts between DCs, with faults at given times: the incident as it happens in production."""

    kind: Literal["timeline"]
    name: str
    description: str = ""
    seed: int = 1
    matrix: TimelineMatrix
    traffic: TrafficSpec
    clock_skew_ms: dict[str, int] = Field(default_factory=dict, description="per-DC application clock skew")
    timeline: list[TimelineEntry] = Field(default_factory=list)
    sample_interval: float = Field(1.0, gt=0, le=60)
    fix: Fix | None = None

    def parameter_keys(self) -> list[str]:
        return list(MATRIX_KEYS)

    def summary_columns(self) -> list[str]:
        return []

    def cells(self) -> list[dict[str, str]]:
        keys = ("topology", "binlog_format", "guard", "flavor")
        values = [getattr(self.matrix, key) for key in keys]
        return [{**dict(zip(keys, combination, strict=True)), "mode": "timeline", "version_order": "-"}
                for combination in itertools.product(*values)]


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
    name: str
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
        from lab.workloads import Workload

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
        return self

    def workload_class(self) -> type:
        from lab.workloads import Workload

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
        return [*self.parameter_keys(), "workload", *self.build(self.cells()[0]).summary_columns()]

    def build(self, parameters: dict[str, str]) -> Any:
        """The workload object for one cell: its settings from the file, its knobs from the cell."""
        return self.workload_class()(self._settings, parameters)


AnyExperiment = Experiment | TimelineExperiment | WorkloadExperiment


def known_keys() -> set[str]:
    """Every matrix key any experiment kind knows: what `--only` may name before a file is read."""
    from lab.workloads import Workload

    knobs = {knob for workload in Workload.registry.values() for knob in workload.knobs}
    return {*MATRIX_KEYS, "exec_mode", *knobs}


def cell_id(parameters: dict[str, str]) -> str:
    """The cell's parameter values in order, joined: `active-active.ROW.strict.mysql-9.7...`."""
    return ".".join(str(value).replace(":", "-") for value in parameters.values())


def parse_only(expressions: tuple[str, ...] | list[str]) -> dict[str, set[str]]:
    """`binlog_format=STATEMENT,guard=strict|gte` -> {binlog_format: {STATEMENT}, guard: {strict, gte}}."""
    keys = known_keys()
    selection: dict[str, set[str]] = {}
    for expression in expressions:
        for part in filter(None, expression.split(",")):
            key, _, value = part.partition("=")
            key = key.strip()
            if key not in keys or not value:
                raise ValueError(f"--only {part!r}: expected KEY=VALUE with KEY one of {', '.join(sorted(keys))}")
            selection.setdefault(key, set()).update(v.strip() for v in value.split("|"))
    return selection


def select(cells: list[dict[str, str]], selection: dict[str, set[str]]) -> list[dict[str, str]]:
    def keep(cell: dict[str, str]) -> bool:
        return all(key in cell and cell[key].upper() in {v.upper() for v in wanted}
                   for key, wanted in selection.items())

    return [cell for cell in cells if keep(cell)]


KINDS: dict[str, type[BaseModel]] = {"incident": Experiment, "timeline": TimelineExperiment,
                                     "workload": WorkloadExperiment}


def load(path: str | Path) -> AnyExperiment:
    """Load an experiment file; its `kind` (incident by default, timeline, workload) picks the model."""
    path = Path(path)
    data = yamlfile.read_mapping(path)
    kind = data.get("kind", "incident")
    if kind not in KINDS:
        raise ConfigError(str(path), "kind", f"unknown experiment kind {kind!r}", f"use one of: {', '.join(KINDS)}")
    return yamlfile.validate(KINDS[kind], data, str(path))
