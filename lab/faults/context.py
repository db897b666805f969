"""What faults act on: the lab, its history, the per-DC clocks, and name resolution for targets.

Targets are written as DC names (`dc1`) or server names (`dc1-ro`). For network faults a DC
means every server in it (`server:dc1` picks only the server of that name); for links and
server faults a DC means its primary (`dc1->dc2`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.client.clock import ClockRegistry
from lab.db import server as srv
from lab.db.lab import Lab
from lab.db.replication import Link
from lab.db.server import Server
from lab.errors import ConfigError
from lab.history import History


@dataclass
class FaultContext:
    lab: Lab
    history: History | None = None
    clocks: ClockRegistry = field(default_factory=ClockRegistry)
    source: str = "fault"  # named in spec errors, e.g. the experiment file

    @property
    def network(self) -> str:
        return srv.network_name(self.lab.name)

    def error(self, field_name: str, problem: str, fix: str = "") -> ConfigError:
        return ConfigError(self.source, field_name or "fault", problem, fix)

    def servers(self, name: str, field_name: str = "server") -> list[Server]:
        """Every server of a DC, or one server: `server:NAME` (or a NAME that is not also a DC's name)."""
        if name.startswith("server:"):
            return [self.server(name.removeprefix("server:"), field_name)]
        members = [s for s in self.lab.servers.values() if s.dc == name]
        if members:
            return members
        if name in self.lab.servers:
            return [self.lab.servers[name]]
        known = sorted(set(self.lab.servers) | {s.dc for s in self.lab.servers.values()})
        raise self.error(field_name, f"no server or DC named {name!r}", f"use one of: {', '.join(known)}")

    def server(self, name: str, field_name: str = "server") -> Server:
        """One server: a server name, or a DC name meaning its primary."""
        if name in self.lab.servers:
            return self.lab.servers[name]
        primary = self.lab.topology.dcs.get(name)
        if primary is None:
            known = sorted(set(self.lab.servers) | set(self.lab.topology.dcs))
            raise self.error(field_name, f"no server or DC named {name!r}", f"use one of: {', '.join(known)}")
        return self.lab.servers[primary]

    def link(self, text: str, field_name: str = "link") -> Link:
        """`source->replica`, each a server or a DC (its primary); must be a link of the topology."""
        parts = [p.strip() for p in text.split("->")]
        if len(parts) != 2 or not all(parts):
            raise self.error(field_name, f"{text!r} is not SOURCE->REPLICA", "write e.g. dc1->dc2")
        source, replica = (self.server(p, field_name) for p in parts)
        for link in self.lab.links:
            if link.source.name == source.name and link.replica.name == replica.name:
                return link
        have = ", ".join(f"{link.source.name}->{link.replica.name}" for link in self.lab.links) or "none"
        raise self.error(field_name, f"the topology has no link {source.name}->{replica.name}", f"links: {have}")

    def incoming_links(self, server: Server) -> list[Link]:
        return [link for link in self.lab.links if link.replica.name == server.name]
