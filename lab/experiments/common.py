"""What every experiment kind shares: strict models, matrix value checks, the fix, and fault timeline entries."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from lab.db.images.spec import parse_flavor
from lab.db.topology import find as find_topology
from lab.db.topology import load as load_topology
from lab.faults import spec
from lab.faults.params import FaultParams
from lab.faults.targets import Names, TargetError, overlapping
from lab.results import schema
from lab.results.schema import PARAMETERS
from lab.workloads.guards import Guard
from lab.workloads.users import Users
from lab.yamlfile import FieldProblem

MATRIX_KEYS = PARAMETERS
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def check_name(value: str) -> str:
    """An experiment's name names its results directories: no path separators, quotes or spaces."""
    if not NAME.match(value):
        raise ValueError(f"must be lowercase letters, digits, '-', '_' or '.', at most 64 (it names the results "
                         f"directory), got {value!r}")
    return value


ExperimentName = Annotated[str, AfterValidator(check_name), Field(json_schema_extra={"pattern": NAME.pattern})]
BINLOG_FORMATS = ("STATEMENT", "ROW", "MIXED")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


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


class TimelineEntry(_Strict):
    """`at` seconds after traffic starts, start `fault`; heal it `for` seconds later (or at the end)."""

    at: float = Field(ge=0, description="seconds after the traffic starts")
    fault: FaultParams
    duration: float | None = Field(None, alias="for", gt=0, description="seconds until the heal (default: the end)")

    # checked against every registered fault, plugins' too (a static union could not include those)
    @field_validator("fault", mode="before")
    @classmethod
    def _fault(cls, value: object) -> FaultParams:
        return spec.check(value)

    @property
    def end(self) -> float:
        return self.at + self.duration if self.duration is not None else float("inf")


def check_timeline(timeline: list[TimelineEntry], topologies: list[str]) -> None:
    """Every name a fault uses must exist in every topology of the matrix, and no two faults may hold the same
    server, link thread or applier at the same time (the second could not take effect)."""
    for topology in topologies:
        names = Names.of(load_topology(find_topology(topology)))
        for index, entry in enumerate(timeline):
            try:
                names.check(entry.fault)
            except TargetError as exc:
                raise FieldProblem(f"timeline.{index}.fault.{exc.field}", f"{exc.problem} in topology {topology}",
                                   exc.fix) from None
    clash = overlapping((index, entry.at, entry.end, entry.fault.holds()) for index, entry in enumerate(timeline))
    if clash:
        first, second, held = clash
        raise FieldProblem(f"timeline.{second}", f"overlaps timeline.{first}: both hold {held} at the same time",
                           "move one of them, or give the first one a `for` that ends before the second starts")




class ServerMatrix(_Strict):
    """The matrix keys every guarded experiment kind has: which servers, formats, guards and flavors."""

    topology: list[str] = Field(min_length=1)
    binlog_format: list[Literal["STATEMENT", "ROW", "MIXED"]] = Field(min_length=1)
    guard: list[str] = Field(min_length=1)
    flavor: list[str] = Field(min_length=1)

    _upper = field_validator("binlog_format", mode="before")(upper_formats)
    _guards = field_validator("guard")(check_guards)
    _flavors = field_validator("flavor")(check_flavors)
    _topologies = field_validator("topology")(check_topologies)


class UsersExperiment(_Strict):
    """Base of the kinds whose cells run the incident's `users` workload: the lab's matrix keys, its columns."""

    def parameter_keys(self) -> list[str]:
        return list(MATRIX_KEYS)

    def summary_columns(self) -> list[str]:
        """cells.csv columns beyond the lab's own: those of the `users` workload its cells run."""
        return schema.workload_columns([], list(Users.operations), [])


def check_clocks(skews: dict[str, int], topologies: list[str]) -> None:
    """`clock_skew_ms` names DCs: each must be a DC of every topology of the matrix."""
    for topology in topologies:
        names = Names.of(load_topology(find_topology(topology)))
        for dc in skews:
            try:
                names.dc(dc, f"clock_skew_ms.{dc}")
            except TargetError as exc:
                raise FieldProblem(exc.field, f"{exc.problem} in topology {topology}", exc.fix) from None
