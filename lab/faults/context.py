"""What faults act on: the lab, its history, the per-DC clocks, and the lab's servers for a fault's names.

Names resolve through lab.faults.targets, the same resolver an experiment file is checked with at
load; here they become the lab's `Server` and `Link` objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from lab.client.clock import ClockRegistry
from lab.db import server as srv
from lab.db.lab import Lab
from lab.db.replication import Link
from lab.db.server import Server
from lab.errors import ConfigError
from lab.faults.targets import Names, TargetError
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

    @cached_property
    def names(self) -> Names:
        return Names.of(self.lab.topology)

    def error(self, field_name: str, problem: str, fix: str = "") -> ConfigError:
        return ConfigError(self.source, field_name or "fault", problem, fix)

    def _resolved(self, error: TargetError) -> ConfigError:
        return self.error(error.field, error.problem, error.fix)

    def servers(self, name: str, field_name: str = "server") -> list[Server]:
        """Every server of a DC, or one server (`server:NAME`, or a NAME that is not also a DC's name)."""
        try:
            return [self.lab.servers[n] for n in self.names.group(name, field_name)]
        except TargetError as exc:
            raise self._resolved(exc) from None

    def server(self, name: str, field_name: str = "server") -> Server:
        """One server: a server name, or a DC name meaning its primary."""
        try:
            return self.lab.servers[self.names.server(name, field_name)]
        except TargetError as exc:
            raise self._resolved(exc) from None

    def others(self, server: Server, field_name: str = "server") -> list[Server]:
        """Every server of the lab but `server` (lab.faults.targets.Names.others refuses a lab of one)."""
        try:
            return [self.lab.servers[n] for n in self.names.others(server.name, field_name)]
        except TargetError as exc:
            raise self._resolved(exc) from None

    def dc(self, name: str, field_name: str = "dc") -> str:
        try:
            return self.names.dc(name, field_name)
        except TargetError as exc:
            raise self._resolved(exc) from None

    def link(self, text: str, field_name: str = "link") -> Link:
        """`source->replica`, each a server or a DC (its primary); must be a link of the topology."""
        try:
            source, replica = self.names.link(text, field_name)
        except TargetError as exc:
            raise self._resolved(exc) from None
        return next(link for link in self.lab.links if (link.source.name, link.replica.name) == (source, replica))

    def incoming_links(self, server: Server) -> list[Link]:
        return [link for link in self.lab.links if link.replica.name == server.name]
