"""Workloads, guards and faults of other packages, found through entry points, so the lab extends without a fork.

A package declares, in its own pyproject.toml:

    [project.entry-points."lab.workloads"]
    counter = "lab_counter"            # a module defining a lab.workloads.Workload subclass with a `name`

and the same for `lab.guards` (a Guard subclass with a `name`) and `lab.faults` (a FaultParams subclass
with its `type`, and the Fault subclass of that `kind`). Importing the module registers them; `load()`
imports every such module once, before an experiment file is read.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from lab.errors import LabError

GROUPS = ("lab.workloads", "lab.guards", "lab.faults")
_loaded: set[str] = set()


def load() -> list[str]:
    """Import every plugin module once; returns the entry points loaded now, as `group:name`."""
    loaded = []
    for group in GROUPS:
        for point in entry_points(group=group):
            key = f"{group}:{point.name}"
            if key in _loaded:
                continue
            try:
                point.load()
            except Exception as exc:  # a broken plugin is the user's to fix: say which, in one line
                raise LabError(f"plugin {key} ({point.value}) could not be loaded: {type(exc).__name__}: {exc}") \
                    from None
            _loaded.add(key)
            loaded.append(key)
    return loaded
