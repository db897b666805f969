"""Update guards: the WHERE condition an optimistic-locking app adds to its UPDATE.

Each guard is one small class; defining a subclass with a `name` registers it.
Placeholders: %(read)s is the version the client read, %(new)s the version it writes.
"""

from __future__ import annotations

from typing import ClassVar


class Guard:
    name: ClassVar[str] = ""
    condition: ClassVar[str] = ""
    description: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[Guard]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            Guard.registry[cls.name] = cls

    def where(self, key_column: str, version_column: str) -> str:
        clause = f"{key_column} = %(key)s"
        if self.condition:
            clause += " AND " + self.condition.replace("version", version_column)
        return clause


class Strict(Guard):
    name = "strict"
    condition = "version = %(read)s"
    description = "classic optimistic lock: only if nobody changed the row since I read it"


class GreaterOrEqual(Guard):
    name = "gte"
    condition = "version >= %(read)s"
    description = "the blog's fix: also accept rows that moved ahead of what I read"


class LastWriterWins(Guard):
    name = "lww"
    condition = "version < %(new)s"
    description = "last writer wins: only if my version is newer than the row's"


class Unguarded(Guard):
    name = "none"
    condition = ""
    description = "unconditional, like a PATCH without a version"


def guard(name: str) -> Guard:
    try:
        return Guard.registry[name]()
    except KeyError:
        raise ValueError(f"unknown guard {name!r}; known: {', '.join(sorted(Guard.registry))}") from None
