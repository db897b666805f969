"""Experiment files: the matrix of parameters and the scenario's inputs. Never its expected outcomes."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lab import yamlfile
from lab.images.spec import parse_flavor
from lab.topology import find as find_topology
from lab.workload.guards import Guard
from lab.workload.plan import TrafficSpec
from lab.yamlfile import FieldProblem

MATRIX_KEYS = ("topology", "binlog_format", "guard", "flavor", "mode", "version_order")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Matrix(_Strict):
    topology: list[str] = Field(min_length=1)
    binlog_format: list[Literal["STATEMENT", "ROW", "MIXED"]] = Field(min_length=1)
    guard: list[str] = Field(min_length=1)
    flavor: list[str] = Field(min_length=1)
    mode: list[Literal["deterministic", "concurrent"]] = Field(["deterministic"], min_length=1)
    version_order: list[Literal["dc1_newer", "dc2_newer"]] = Field(["dc1_newer"], min_length=1)

    @field_validator("binlog_format", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return [v.upper() if isinstance(v, str) else v for v in value] if isinstance(value, list) else value

    @field_validator("guard")
    @classmethod
    def _guards(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in Guard.registry:
                raise ValueError(f"unknown guard {name!r}; known: {', '.join(sorted(Guard.registry))}")
        return value

    @field_validator("flavor")
    @classmethod
    def _flavors(cls, value: list[str]) -> list[str]:
        for text in value:
            parse_flavor(text)
        return value

    @field_validator("topology")
    @classmethod
    def _topologies(cls, value: list[str]) -> list[str]:
        for name in value:
            if not find_topology(name).exists():
                raise ValueError(f"no topology file for {name!r} (looked in topologies/)")
        return value


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

    def cells(self) -> list[dict[str, str]]:
        """The cartesian product of the matrix, in file order."""
        values = [getattr(self.matrix, key) for key in MATRIX_KEYS]
        return [dict(zip(MATRIX_KEYS, combination, strict=True)) for combination in itertools.product(*values)]


class TimelineMatrix(_Strict):
    topology: list[str] = Field(min_length=1)
    binlog_format: list[Literal["STATEMENT", "ROW", "MIXED"]] = Field(min_length=1)
    guard: list[str] = Field(min_length=1)
    flavor: list[str] = Field(min_length=1)

    _upper = field_validator("binlog_format", mode="before")(Matrix._upper.__func__)
    _guards = field_validator("guard")(Matrix._guards.__func__)
    _flavors = field_validator("flavor")(Matrix._flavors.__func__)
    _topologies = field_validator("topology")(Matrix._topologies.__func__)


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

    def cells(self) -> list[dict[str, str]]:
        keys = ("topology", "binlog_format", "guard", "flavor")
        values = [getattr(self.matrix, key) for key in keys]
        return [{**dict(zip(keys, combination, strict=True)), "mode": "timeline", "version_order": "-"}
                for combination in itertools.product(*values)]


def cell_id(parameters: dict[str, str]) -> str:
    return ".".join(parameters[key].replace(":", "-") for key in MATRIX_KEYS)


def parse_only(expressions: tuple[str, ...] | list[str]) -> dict[str, set[str]]:
    """`binlog_format=STATEMENT,guard=strict|gte` -> {binlog_format: {STATEMENT}, guard: {strict, gte}}."""
    selection: dict[str, set[str]] = {}
    for expression in expressions:
        for part in filter(None, expression.split(",")):
            key, _, value = part.partition("=")
            key = key.strip()
            if key not in MATRIX_KEYS or not value:
                raise ValueError(f"--only {part!r}: expected KEY=VALUE with KEY one of {', '.join(MATRIX_KEYS)}")
            selection.setdefault(key, set()).update(v.strip() for v in value.split("|"))
    return selection


def select(cells: list[dict[str, str]], selection: dict[str, set[str]]) -> list[dict[str, str]]:
    def keep(cell: dict[str, str]) -> bool:
        return all(cell[key].upper() in {v.upper() for v in wanted} for key, wanted in selection.items())

    return [cell for cell in cells if keep(cell)]


def load(path: str | Path) -> Experiment | TimelineExperiment:
    """Load an incident experiment, or a timeline experiment when the file says `kind: timeline`."""
    path = Path(path)
    data = yamlfile.read_mapping(path)
    model = TimelineExperiment if data.get("kind") == "timeline" else Experiment
    return yamlfile.validate(model, data, str(path))
