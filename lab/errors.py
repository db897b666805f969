"""Errors the lab shows to users as one line: what went wrong, where, and how to fix it."""

from __future__ import annotations


class LabError(Exception):
    """A failure the user can act on. `str()` is the whole one-line message."""


class ConfigError(LabError):
    """A topology or experiment file (or a CLI override) is invalid; nothing was started."""

    def __init__(self, source: str, field: str, problem: str, fix: str = "") -> None:
        self.source, self.field, self.problem, self.fix = source, field, problem, fix
        message = f"{source}: {field}: {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)


class EngineError(LabError):
    """No usable Docker engine."""


class ImageError(LabError):
    """An image can be neither found locally, pulled, nor built offline."""


class ServerStartError(LabError):
    """A server container did not become ready; carries its last log lines."""


class ReplicationError(LabError):
    """Replication could not be wired or did not catch up in time."""
