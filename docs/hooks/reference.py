"""Reference pages generated from the lab's own schemas when the docs are built, so they cannot drift.

Every fault type comes from the fault union (`lab.faults.params`, what `lab schema` and `lab validate` use),
every experiment and topology field from the pydantic models that load those files, every workload and guard
from their registries, and every flavor recipe from `lab.db.images.offline`. A plugin's fault, workload or
guard shows up once it is installed. The tables are written by hand here (rather than by a JSON-Schema doc
plugin) because the lab needs the fault aliases, a real example per fault and per-kind anchors, which no such
plugin offers; the JSON Schema itself still comes from pydantic.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import yaml

# What a fault's module says about where it runs: the faults' own package layout (lab/faults/*.py).
CATEGORIES = {
    "lab.faults.network": "network: iptables or tc inside the servers' network namespaces, entered from the "
                          "engine's host with nsenter: [root on the engine's Linux host]"
                          "(troubleshooting.md#network-faults-need-root-on-the-engines-linux-host)",
    "lab.faults.links": "replication link: SQL on the replica (works on any engine)",
    "lab.faults.servers": "server: the container itself through the engine (works on any engine)",
    "lab.faults.application": "application: the clients' clocks inside the lab process (works anywhere)",
}
# Values used to write a minimal example of a fault that no shipped experiment uses. Each example is
# validated against the schema below, so a wrong one fails the docs build instead of being published.
SAMPLES: dict[str, Any] = {
    "between": ["dc1", "dc2"], "link": "dc1->dc2", "links": ["dc1->dc2"], "dc": "dc2", "rate": "1mbit",
    "probability": 0.1, "delay_ms": 100, "seconds": 3, "ms": -2000, "thread": "sql",
}


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell: no pipe splits the cell, no `<` opens an HTML tag. Code spans
    are left alone: the table extension already keeps a pipe inside backticks in its cell."""
    parts = " ".join(str(text).split()).split("`")
    for index in range(0, len(parts), 2):   # the even parts are outside code spans
        parts[index] = parts[index].replace("|", "\\|").replace("<", "&lt;")
    return "`".join(parts)


def code(value: object) -> str:
    return f"`{value}`" if value not in (None, "") else ""


def type_text(prop: dict[str, Any], link: Any) -> str:
    """A JSON Schema property as a short phrase: `list of string`, one of `a`, `b`, a link to a model."""
    if "$ref" in prop:
        return link(prop["$ref"].rsplit("/", 1)[-1])
    if "const" in prop:
        return code(prop["const"])
    if "enum" in prop:
        return "one of " + ", ".join(code(v) for v in prop["enum"])
    if "anyOf" in prop or "oneOf" in prop:
        options = [p for p in prop.get("anyOf", prop.get("oneOf", [])) if p.get("type") != "null"]
        return " or ".join(type_text(p, link) for p in options) or "null"
    kind = prop.get("type")
    if kind == "array":
        return "list of " + type_text(prop.get("items", {}), link) if prop.get("items") else "list"
    if kind == "object":
        values = prop.get("additionalProperties")
        return "mapping of string to " + type_text(values, link) if isinstance(values, dict) and values \
            else "mapping"
    return kind or "any"


def constraints(prop: dict[str, Any]) -> str:
    """The bounds pydantic wrote into the schema, in words (for an optional field, on its non-null option)."""
    for option in prop.get("anyOf", []):
        if option.get("type") != "null":
            prop = {**option, **prop}
    parts = []
    for key, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")):
        if key in prop:
            parts.append(f"{sign} {prop[key]}")
    if "minItems" in prop:
        parts.append(f"at least {prop['minItems']} item(s)")
    if "maxLength" in prop:
        parts.append(f"at most {prop['maxLength']} characters")
    if "pattern" in prop:
        parts.append(f"matches `{prop['pattern']}`")
    return ", ".join(parts)


def flow(value: Any) -> str:
    """A value as one line of YAML flow style, as the shipped files write it."""
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1000).strip().removesuffix(
        "...").strip()


def field_rows(schema: dict[str, Any], link: Any) -> list[str]:
    """One table row per property: name, type, default (or required), what it means."""
    required = set(schema.get("required", []))
    rows = ["| field | type | default | meaning |", "| --- | --- | --- | --- |"]
    properties = schema.get("properties", {})
    for name in sorted(properties, key=lambda field: field != "type"):   # a fault's `type` first
        prop = properties[name]
        default = "required" if name in required else "(not set)" if prop.get("default", 0) is None else \
            code(flow(prop["default"])) if "default" in prop else "(defaults)" if "$ref" in prop else "(empty)"
        meaning = "; ".join(filter(None, [prop.get("description", ""), constraints(prop)]))
        rows.append(f"| `{name}` | {cell(type_text(prop, link))} | {cell(default)} | {cell(meaning)} |")
    return rows


def model_sections(schema: dict[str, Any], prefix: str, heading: str = "####",
                   special: dict[str, str] | None = None) -> str:
    """A model's field table, then one table per nested model it refers to, in order of first use.

    `special` maps model names to a link rendered instead of a section (e.g. the fault union)."""
    special = special or {}
    defs = schema.get("$defs", {})
    order: list[str] = []

    def link(name: str) -> str:
        if name in special:
            return special[name]
        if name not in order:
            order.append(name)
        return f"[{name}](#{prefix}-{name.lower()})"

    lines = field_rows(schema, link)
    done = 0
    while done < len(order):
        name = order[done]
        done += 1
        definition = defs[name]
        lines += ["", f"{heading} {name} {{#{prefix}-{name.lower()}}}", ""]
        if definition.get("description"):
            lines += [" ".join(definition["description"].split()), ""]
        if "properties" in definition:
            lines += field_rows(definition, link)
        else:
            lines.append(f"Type: {type_text(definition, link)}.")
    return "\n".join(lines)


def first_paragraph(text: str | None) -> str:
    return " ".join(inspect.cleandoc(text or "").split("\n\n")[0].split())


def fault_models() -> list[tuple[list[str], type]]:
    """(every `type` spelling, model) per fault model, built-ins and plugins, in name order."""
    from lab.faults import spec  # noqa: F401  (registers the built-in fault kinds)
    from lab.faults.params import FaultParams

    grouped: dict[type, list[str]] = {}
    for name, model in sorted(FaultParams.registry.items()):
        grouped.setdefault(model, []).append(name)
    result = []
    for model, names in grouped.items():
        spellings = list(model.model_fields["type"].annotation.__args__)  # the Literal's order: primary first
        result.append(([n for n in spellings if n in names], model))
    return sorted(result, key=lambda item: item[0][0])


def shipped_fault_examples(root: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """The first use of each fault type in the shipped experiments: {type: (file, timeline entry)}."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for path in sorted((root / "experiments").glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        for entry in data.get("timeline") or []:
            fault = entry.get("fault", {}) if isinstance(entry, dict) else {}
            found.setdefault(str(fault.get("type")), (f"experiments/{path.name}", entry))
    return found


def minimal_example(names: list[str], model: type) -> dict[str, Any] | None:
    """The smallest fault dict of this type the schema accepts, from SAMPLES; None if none is found."""
    from lab.faults import spec
    from lab.yamlfile import FieldProblem

    schema = model.model_json_schema()
    example: dict[str, Any] = {"type": names[0]}
    example.update({k: SAMPLES[k] for k in schema.get("required", []) if k in SAMPLES})
    optional = [k for k in schema.get("properties", {}) if k in SAMPLES and k not in example]
    for extra in [None, *optional]:
        if extra is not None:
            example[extra] = SAMPLES[extra]
        try:
            spec.check(example)
            return example
        except FieldProblem:
            continue
    return None


def fault_reference(root: Path) -> str:
    """Every fault type: what it does, where it runs, its parameters, an example from a shipped file if any."""
    from lab.faults.base import Fault

    examples = shipped_fault_examples(root)
    out = []
    for names, model in fault_models():
        fault_class = Fault.registry.get(model.kind)
        module = fault_class.__module__ if fault_class else model.__module__
        out += [f"### `{names[0]}` {{#fault-{names[0]}}}", ""]
        summary = first_paragraph(fault_class.__doc__ if fault_class else None) or first_paragraph(model.__doc__)
        if summary:
            out += [summary, ""]
        if len(names) > 1:
            out += ["Also written as " + ", ".join(f"`{n}`" for n in names[1:]) + ".", ""]
        out += [f"Runs as: {CATEGORIES.get(module, f'a plugin fault ({module})')}.", ""]
        out += field_rows(model.model_json_schema(), lambda name: name)
        shipped = next((examples[n] for n in names if n in examples), None)
        if shipped:
            out += ["", f"In `{shipped[0]}`:", "", "```yaml", "timeline:", f"  - {flow(shipped[1])}", "```"]
        else:
            example = minimal_example(names, model)
            if example is not None:
                out += ["", "Example timeline entry:", "", "```yaml", "timeline:",
                        f"  - {flow({'at': 2, 'for': 5, 'fault': example})}", "```"]
        out.append("")
    return "\n".join(out)


def experiment_reference(kind: str) -> str:
    """The fields of one experiment kind, and of every model nested in it."""
    from lab.experiments import KINDS

    schema = KINDS[kind].model_json_schema()
    text = model_sections(schema, kind, special={"FaultParams": "a fault: see [Faults](#faults)"})
    if kind == "workload":
        text += "\n\n" + workload_reference()
    return text


def workload_reference() -> str:
    """Each registered workload: its settings (`workload:` block) and its own matrix keys (knobs)."""
    from lab.workloads import Workload

    out = []
    for name, workload in sorted(Workload.registry.items()):
        about = cell(workload.description)
        out += [f"#### `workload: {{name: {name}}}` {{#workload-{name}}}", "", about[:1].upper() + about[1:] + ".", ""]
        guard = "takes the matrix key `guard`" if workload.uses_guard else "has no `guard` matrix key"
        knobs = [f"`{knob}` (" + ("any whole number ≥ 0, default 0" if values is int else
                                  "one of " + ", ".join(f"`{v}`" for v in values) + f"; default `{values[0]}`") + ")"
                 for knob, values in workload.knobs.items()]
        out += [f"It {guard}" + (f"; its own matrix keys: {'; '.join(knobs)}." if knobs else "."), ""]
        settings = workload.settings_model.model_json_schema()
        if settings.get("properties"):
            out += [model_sections(settings, f"workload-{name}", heading="#####"), ""]
    return "\n".join(out)


def topology_reference() -> str:
    from lab.db.topology import Topology

    return model_sections(Topology.model_json_schema(), "topology")


def shipped_topologies(root: Path) -> str:
    """A table of every topology file in topologies/: its design, servers and links, from the files themselves."""
    rows = ["| file | replication | servers | links | what it is |", "| --- | --- | --- | --- | --- |"]
    for path in sorted((root / "topologies").glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        links = ", ".join(f"{link['source']}→{link['replica']}" for link in data.get("links") or [])
        rows.append(f"| `{path.name}` | `{data.get('replication', 'one-way')}` | "
                    f"{cell(', '.join(data.get('servers') or {}))} | {cell(links or '(none: the design replicates)')}"
                    f" | {cell(data.get('description', ''))} |")
    return "\n".join(rows)


def guard_reference() -> str:
    from lab.workloads.guards import Guard

    rows = ["| guard | added to `WHERE id = :id` | meaning |", "| --- | --- | --- |"]
    for name, guard in Guard.registry.items():
        condition = guard.condition.replace("%(read)s", ":read").replace("%(new)s", ":new")
        rows.append(f"| `{name}` | {code('AND ' + condition) if condition else '(nothing)'} | "
                    f"{cell(guard.description)} |")
    return "\n".join(rows)


def flavor_recipes() -> str:
    from lab.db.images import offline

    rows = ["| flavor | image tag built | Debian suite | packages |", "| --- | --- | --- | --- |"]
    for recipe in offline.RECIPES.values():
        rows.append(f"| `{recipe.flavor_text}` | `{recipe.tag}` | `{recipe.suite}` | "
                    f"{cell(' '.join(recipe.packages))} |")
    return "\n".join(rows)


def property_names(schema: dict[str, Any]) -> set[str]:
    """Every property name anywhere in a JSON Schema (for checking that a page names them all)."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):
                    names.update(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema)
    return names


def include(root: Path, relative: str, lang: str = "yaml") -> str:
    """A repository file verbatim as a fenced block, titled with its path; refuses paths outside the repo."""
    path = (root / relative).resolve()
    if root.resolve() not in path.parents or not path.is_file():
        raise FileNotFoundError(f"lab:include {relative}: no such file in the repository")
    fence = "````" if "```" in path.read_text() else "```"
    return f"`{relative}`:\n\n{fence}{lang}\n{path.read_text().rstrip()}\n{fence}"
