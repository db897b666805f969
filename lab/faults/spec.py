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
from lab.faults.params import PARAMS, FaultParams, FaultSpec, type_names

SCHEMA: TypeAdapter[Any] = TypeAdapter(FaultSpec)
MODELS = {name: model for model in PARAMS for name in model.model_fields["type"].annotation.__args__}  # type: ignore


def kinds() -> list[str]:
    return type_names()


def parse(spec: Any, source: str, where: str = "fault") -> FaultParams:
    """A fault dict checked against the schema; a ConfigError naming `where` and the field otherwise."""
    if not isinstance(spec, Mapping):
        raise ConfigError(source, where, f"must be a mapping with a `type`, got {spec!r}")
    try:
        return SCHEMA.validate_python(dict(spec))
    except ValidationError as exc:
        errors = exc.errors()
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        field, problem, fix = yamlfile.describe(first, dict(spec))
        model = MODELS.get(str(spec.get("type")))
        if first["type"] == "extra_forbidden" and model is not None:
            fields = ["type", *(f for f in model.model_fields if f != "type")]
            fix = f"a {spec.get('type')} fault takes: {', '.join(fields)}"
        field = where if field == "(top level)" else f"{where}.{field}"
        raise ConfigError(source, field, " ".join(problem.split()), fix) from None


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
