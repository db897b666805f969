"""JSON Schemas of topology and experiment files, for editors that complete and check YAML as it is typed.

They are generated from the same models that validate the files at load, so they cannot drift: each
fault type's parameters, each workload's settings, and each kind's matrix. Plugins (lab.plugins) are
included once loaded.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from lab.db.topology import Topology
from lab.experiments.incident import Experiment
from lab.experiments.timeline import TimelineExperiment
from lab.experiments.workload import WorkloadExperiment
from lab.faults.params import fault_union
from lab.workloads import Workload

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _document(schema: dict[str, Any], title: str) -> dict[str, Any]:
    return {"$schema": DRAFT, "title": title, **schema}


def topology_schema() -> dict[str, Any]:
    return _document(Topology.model_json_schema(), "lab topology file")


def _workload_settings() -> dict[str, Any]:
    """The `workload:` block: one variant per registered workload, its `name` and its own settings."""
    variants = []
    for name, workload in sorted(Workload.registry.items()):
        settings = workload.settings_model.model_json_schema()
        properties = {"name": {"const": name, "description": workload.description}, **settings.get("properties", {})}
        nested = {"$defs": settings["$defs"]} if "$defs" in settings else {}
        variants.append({"type": "object", "title": name, "properties": properties, "required": ["name"],
                         "additionalProperties": False, **nested})
    return {"oneOf": variants}


def experiment_schema() -> dict[str, Any]:
    """Every experiment kind, told apart by `kind` (incident when it is absent)."""
    faults = TypeAdapter(fault_union()).json_schema(ref_template="#/$defs/faults/$defs/{model}")
    kinds = []
    for model in (Experiment, TimelineExperiment, WorkloadExperiment):
        schema = model.model_json_schema()
        entry = schema.get("$defs", {}).get("TimelineEntry")
        if entry is not None:
            entry["properties"]["fault"] = {"$ref": "#/$defs/faults"}
        if model is WorkloadExperiment:
            schema["properties"]["workload"] = _workload_settings()
        kinds.append(schema)
    definitions: dict[str, Any] = {"faults": faults}
    variants = []
    for schema in kinds:
        definitions.update({k: v for k, v in schema.pop("$defs", {}).items() if k not in definitions})
        variants.append(schema)
    return _document({"oneOf": variants, "$defs": definitions}, "lab experiment file")
