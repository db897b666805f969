"""Build faults from plain dicts, as written in experiment files:

    {"type": "partition", "between": ["dc1", "dc2"], "direction": "both"}
    {"type": "crash", "server": "dc2"}

The dict is checked against the fault schema (lab.faults.params) and its names against the lab's
topology (lab.faults.targets); errors are one line naming the field, e.g.
`exp.yaml: timeline.3.fault.probability: Input should be less than or equal to 1`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from lab import yamlfile
from lab.errors import ConfigError
from lab.faults import application, links, network, servers  # noqa: F401  (registers the fault kinds)
from lab.faults.base import Fault
from lab.faults.context import FaultContext
from lab.faults.params import FaultParams, fault_union, type_names
from lab.yamlfile import FieldProblem

_schemas: dict[frozenset[str], TypeAdapter[Any]] = {}


def kinds() -> list[str]:
    return type_names()


def _schema() -> TypeAdapter[Any]:
    """The union of every registered fault, rebuilt only when a plugin registered another one."""
    key = frozenset(FaultParams.registry)
    if key not in _schemas:
        _schemas[key] = TypeAdapter(fault_union())
    return _schemas[key]


def check(spec: Any) -> FaultParams:
    """A fault dict checked against the schema; a FieldProblem naming the field (relative to the fault)."""
    if isinstance(spec, FaultParams):
        return spec
    if not isinstance(spec, Mapping):
        raise FieldProblem("", f"must be a mapping with a `type`, got {spec!r}", "write e.g. type: partition")
    try:
        return _schema().validate_python(dict(spec))
    except ValidationError as exc:
        errors = exc.errors()
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        field, problem, fix = yamlfile.describe(first, dict(spec))
        model = FaultParams.registry.get(str(spec.get("type")))
        if first["type"] == "extra_forbidden" and model is not None:
            fields = ["type", *(f for f in model.model_fields if f != "type")]
            fix = f"a {spec.get('type')} fault takes: {', '.join(fields)}"
        raise FieldProblem("" if field == "(top level)" else field, " ".join(problem.split()), fix) from None


def parse(spec: Any, source: str, where: str = "fault") -> FaultParams:
    """A fault dict checked against the schema; a ConfigError naming `where` and the field otherwise."""
    try:
        return check(spec)
    except FieldProblem as problem:
        field = f"{where}.{problem.field}" if problem.field else where
        raise ConfigError(source, field, problem.problem, problem.fix) from None


def build(ctx: FaultContext, spec: Mapping[str, Any] | FaultParams, where: str = "fault",
          ignore: Iterable[str] = ()) -> Fault:
    """A fault from its dict (or its checked parameters). `ignore` lists keys the caller handles itself
    (e.g. a timeline's `at`, `for`)."""
    if isinstance(spec, FaultParams):
        params = spec
    else:
        skipped = set(ignore)
        params = parse({k: v for k, v in spec.items() if k not in skipped} if isinstance(spec, Mapping) else spec,
                       ctx.source, where)
    try:
        return Fault.registry[params.kind].from_params(ctx, params)
    except ConfigError as exc:
        field = where if exc.field in ("", "fault") else f"{where}.{exc.field}"
        raise ConfigError(exc.source, field, exc.problem, exc.fix) from None
