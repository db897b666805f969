"""Build faults from plain dicts, as written in experiment files:

    {"type": "partition", "between": ["dc1", "dc2"], "direction": "both"}
    {"type": "crash", "server": "dc2"}

Errors are one line naming the field, e.g. `exp.yaml: timeline[3].probability: must be ...`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lab.errors import ConfigError
from lab.faults import application, links, network, servers  # noqa: F401  (registers the fault kinds)
from lab.faults.base import Fault
from lab.faults.context import FaultContext
from lab.faults.params import SpecReader

ALIASES: dict[str, str] = {"stop_io": "stop_thread", "stop_sql": "stop_thread", "exec_mode": "idempotent",
                           "packet_loss": "loss", "pause_server": "pause"}


def kinds() -> list[str]:
    return sorted({*Fault.registry, *ALIASES})


def build(ctx: FaultContext, spec: Mapping[str, Any], where: str = "fault", ignore: Iterable[str] = ()) -> Fault:
    """A fault from its dict. `ignore` lists keys the caller handles itself (e.g. a timeline's `at`, `for`)."""
    try:
        if not isinstance(spec, Mapping):
            raise ctx.error("", f"must be a mapping with a `type`, got {spec!r}")
        kind = spec.get("type")
        name = ALIASES.get(str(kind), str(kind))
        if name not in Fault.registry:
            raise ctx.error("type", f"unknown fault type {kind!r}", f"known: {', '.join(kinds())}")
        return Fault.registry[name].from_spec(ctx, SpecReader(ctx, spec, ignore))
    except ConfigError as exc:
        field = where if exc.field in ("", "fault") else f"{where}.{exc.field}"
        raise ConfigError(exc.source, field, exc.problem, exc.fix) from None
