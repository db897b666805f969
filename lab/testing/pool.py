"""Labs kept for a whole test session, one per (topology, flavor), reset before each use.

Starting a lab costs seconds; resetting one (drop user schemas, reset binlogs and GTIDs, rewire) costs
well under one. Names are fixed per session prefix and xdist worker, so a crashed session's leftovers
are replaced at the next start, and parallel workers never share a lab.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from lab.db import cleanup, topology
from lab.db.lab import Lab
from lab.errors import LabError

DEFAULT_TOPOLOGY = "active-active"
DEFAULT_FLAVOR = "mariadb:10.11"


@dataclass(frozen=True)
class LabSpec:
    """Which lab a test needs: a topology (a shipped name or a file), a flavor, and the binlog format to reset to."""

    topology: str = DEFAULT_TOPOLOGY
    flavor: str = DEFAULT_FLAVOR
    binlog_format: str = "STATEMENT"


class LabPool:
    """Labs kept for the whole session, keyed by topology and flavor; `get` resets before handing one out."""

    def __init__(self, prefix: str | None = None, keep: bool = False) -> None:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        self.prefix = (prefix or os.environ.get("LAB_TEST_PREFIX", "t")) + (worker.replace("gw", "w") or "")
        self.keep = keep
        self._labs: dict[tuple[str, str], Lab] = {}

    def name(self, spec: LabSpec) -> str:
        stem = spec.topology.rsplit("/", 1)[-1].removesuffix(".yaml")
        flavor = spec.flavor.replace(":", "").replace(".", "")
        return f"{self.prefix}-{stem}-{flavor}"[:31].rstrip("-")

    def get(self, topology_name: str | LabSpec, flavor: str = DEFAULT_FLAVOR, binlog_format: str = "STATEMENT") -> Lab:
        spec = topology_name if isinstance(topology_name, LabSpec) else LabSpec(topology_name, flavor, binlog_format)
        key = (spec.topology, spec.flavor)
        lab = self._labs.get(key)
        if lab is None:
            resolved = topology.load(topology.find(spec.topology), flavor=spec.flavor,
                                     binlog_format=spec.binlog_format)
            name = self.name(spec)
            cleanup.remove_lab(name)  # what an earlier, crashed session left under this name
            lab = Lab.up(resolved, name=name)
            self._labs[key] = lab
        else:
            try:
                lab.reset(binlog_format=spec.binlog_format)
            except Exception:  # the lab went away under the session (e.g. `lab down --all`): start it again
                cleanup.remove_lab(lab.name)
                del self._labs[key]
                return self.get(spec)
        for server in lab.servers.values():
            found = server.query("SELECT @@global.binlog_format AS f")[0]["f"]
            if found != spec.binlog_format.upper():
                raise LabError(f"lab {lab.name}: {server.name} runs binlog_format {found} after the reset, "
                               f"not {spec.binlog_format}")
        return lab

    def close(self) -> None:
        """Remove every lab of the pool (kept for debugging with `--lab-keep`)."""
        if not self.keep:
            for lab in self._labs.values():
                lab.down()
        self._labs.clear()
