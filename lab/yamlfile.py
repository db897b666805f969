"""Load a YAML file of the lab's and turn pydantic errors into one-line messages naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from lab.errors import ConfigError

Model = TypeVar("Model", bound=BaseModel)


def read_mapping(path: Path) -> dict[str, Any]:
    source = str(path)
    if not path.exists():
        raise ConfigError(source, "(file)", "does not exist", "check the path")
    try:
        data = yaml.safe_load(path.read_text())
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


def _field_path(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def _describe(error: dict[str, Any]) -> tuple[str, str, str]:
    """(field, problem, fix) for one pydantic error."""
    kind = error["type"]
    location = error["loc"]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldProblem):
        prefix = _field_path(location)
        field = cause.field if prefix == "(top level)" else f"{prefix}.{cause.field}"
        return field, cause.problem, cause.fix
    field = _field_path(location)
    if kind == "extra_forbidden":
        return field, f"unknown key {location[-1]!r}", "remove it or check its spelling"
    if kind == "missing":
        return field, "is required", "add it"
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
        field, problem, fix = _describe(errors[0])
        if len(errors) > 1:
            problem += f" [and {len(errors) - 1} more problem(s)]"
        raise ConfigError(source, field, problem, fix) from None


def load(model: type[Model], path: str | Path) -> Model:
    path = Path(path)
    return validate(model, read_mapping(path), str(path))
