"""Reading a fault's parameters from a plain dict, with one-line errors that name the field."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lab.errors import ConfigError
from lab.faults.context import FaultContext

_MISSING = object()


class SpecReader:
    """Take typed keys out of a fault dict; `done()` rejects keys nobody asked for (typos must not pass)."""

    def __init__(self, ctx: FaultContext, spec: Mapping[str, Any], ignore: Iterable[str] = ()) -> None:
        if not isinstance(spec, Mapping):
            raise ctx.error("", f"must be a mapping, got {type(spec).__name__}")
        self.ctx = ctx
        self.kind = str(spec.get("type", ""))
        skipped = {"type", *ignore}
        self._left = {k: v for k, v in spec.items() if k not in skipped}
        self._seen: list[str] = []

    @classmethod
    def of(cls, ctx: FaultContext, spec: Any) -> SpecReader:
        """Accept a reader (from `build`, which knows the keys to ignore) or a plain dict."""
        return spec if isinstance(spec, SpecReader) else cls(ctx, spec)

    def error(self, name: str, problem: str, fix: str = "") -> ConfigError:
        return self.ctx.error(name, problem, fix)

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = _MISSING,
            check: Callable[[Any], str | None] | None = None) -> Any:
        """The value of `name`, of type `kind`; `check` returns a problem string or None."""
        self._seen.append(name)
        if name not in self._left:
            if default is _MISSING:
                raise self.error(name, f"is required for a {self.kind!r} fault")
            return default
        value = self._left.pop(name)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:  # True is an int in Python, never in a fault file
            raise self.error(name, f"must be {' or '.join(k.__name__ for k in kinds)}, got {value!r}")
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds):
            raise self.error(name, f"must be {' or '.join(k.__name__ for k in kinds)}, got {value!r}")
        if check and (problem := check(value)):
            raise self.error(name, problem)
        return value

    def done(self) -> None:
        if self._left:
            unknown = ", ".join(sorted(self._left))
            allowed = ", ".join(["type", *self._seen])
            raise self.ctx.error("", f"unknown key(s) for a {self.kind!r} fault: {unknown}",
                                 f"allowed: {allowed}")


def non_negative(value: float) -> str | None:
    return None if value >= 0 else "must be >= 0"


def positive(value: float) -> str | None:
    return None if value > 0 else "must be > 0"


def probability(value: float) -> str | None:
    return None if 0 < value <= 1 else "must be a probability in (0, 1]"
