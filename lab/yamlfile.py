"""Load a YAML file of the lab's and turn pydantic errors into one-line messages naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from lab.errors import ConfigError

Model = TypeVar("Model", bound=BaseModel)


def _duplicate_key(node: yaml.Node, path: tuple[Any, ...], seen_nodes: set[int]) -> tuple[str, str] | None:
    """(field, problem) for the first key repeated within one mapping. PyYAML silently keeps the last one."""
    if id(node) in seen_nodes:  # anchors/aliases share nodes, and may even be recursive
        return None
    seen_nodes.add(id(node))
    children: list[tuple[tuple[Any, ...], yaml.Node]] = []
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                children.append((path, value_node))
                continue
            key, line = key_node.value, key_node.start_mark.line + 1
            if key in first_line:
                return (_field_path((*path, key)),
                        f"duplicate key {key!r} on line {line} (first on line {first_line[key]})")
            first_line[key] = line
            children.append(((*path, key), value_node))
    elif isinstance(node, yaml.SequenceNode):
        children = [((*path, index), item) for index, item in enumerate(node.value)]
    for child_path, child in children:
        found = _duplicate_key(child, child_path, seen_nodes)
        if found:
            return found
    return None


def read_mapping(path: Path) -> dict[str, Any]:
    source = str(path)
    if not path.exists():
        raise ConfigError(source, "(file)", "does not exist", "check the path")
    try:
        text = path.read_text()
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        duplicate = _duplicate_key(node, (), set()) if node is not None else None
        if duplicate:
            raise ConfigError(source, duplicate[0], duplicate[1], "keep only one of them")
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(source, where, f"YAML syntax error: {problem}", "fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(source, "(top level)", "must be a mapping of keys to values", "see topologies/*.yaml")
    return data


class FieldProblem(ValueError):
    """Raise inside a model validator to point at a precise field, not at the whole model."""

    def __init__(self, field: str, problem: str, fix: str = "") -> None:
        self.field, self.problem, self.fix = field, problem, fix
        super().__init__(problem)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _field_path(location: tuple[Any, ...]) -> str:
    # a key holding a newline must not break the one-line message
    parts = (str(part) if str(part).isprintable() else repr(str(part)) for part in location)
    return ".".join(parts) or "(top level)"


def _data_location(data: Any, location: tuple[Any, ...]) -> tuple[Any, ...]:
    """The error's location as keys of the input: a union's tag (a fault's `type` value, which pydantic puts
    in the location) is not a key, so it is left out."""
    found: list[Any] = []
    current = data
    for part in location:
        if isinstance(current, dict) and part not in current and current.get("type") == part:
            continue
        found.append(part)
        inside = isinstance(current, dict) and part in current
        inside = inside or (isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current))
        current = current[part] if inside else None
    return tuple(found)


def describe(error: dict[str, Any], data: Any = None) -> tuple[str, str, str]:
    """(field, problem, fix) for one pydantic error; `data` is the input, to name fields as it spells them."""
    kind = error["type"]
    location = _data_location(data, tuple(error["loc"]))
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldProblem):
        prefix = _field_path(location)
        field = cause.field if prefix == "(top level)" else f"{prefix}.{cause.field}" if cause.field else prefix
        return field, cause.problem, cause.fix
    field = _field_path(location)
    if kind == "extra_forbidden":
        return field, f"unknown key {location[-1]!r}", "remove it or check its spelling"
    if kind == "missing":
        return field, "is required", "add it"
    if kind == "union_tag_invalid":
        context = error.get("ctx") or {}
        return (f"{field}.type" if field != "(top level)" else "type", f"unknown type {context.get('tag')!r}",
                f"use one of: {context.get('expected_tags', '').replace(chr(39), '')}")
    if kind == "union_tag_not_found":
        return field, "needs a `type`", "add e.g. type: partition"
    message = error["msg"]
    if message.startswith("Value error, "):
        return field, message[len("Value error, "):], ""
    return field, f"{message} (got {error.get('input')!r})", ""


def validate(model: type[Model], data: dict[str, Any], source: str) -> Model:
    """Validate `data`; on failure raise ConfigError for the first problem, counting the rest."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key also makes the real key "missing"; the unknown key is the one to show.
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        field, problem, fix = describe(first, data)
        if len(errors) > 1:
            problem += f" [and {len(errors) - 1} more problem(s)]"
        raise ConfigError(source, field, _one_line(problem), fix) from None


def load(model: type[Model], path: str | Path) -> Model:
    path = Path(path)
    return validate(model, read_mapping(path), str(path))
