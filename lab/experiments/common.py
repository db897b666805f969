"""What every experiment kind shares: strict models, matrix value checks, the fix, and fault timeline entries."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lab.db.images.spec import parse_flavor
from lab.db.topology import find as find_topology
from lab.results import schema
from lab.results.schema import PARAMETERS
from lab.workloads.guards import Guard
from lab.workloads.users import Users
from lab.yamlfile import FieldProblem

MATRIX_KEYS = PARAMETERS
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
