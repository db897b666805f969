"""What the names in a fault refer to: DCs, servers and links of a topology. One resolver, used twice.

At load, an experiment's faults are resolved against every topology its matrix names, so an unknown
DC fails before anything starts; at build, the same resolver picks the lab's servers. Names are DC
names (`dc1`) or server names (`dc1-ro`). For network faults a DC means every server in it
(`server:dc1` picks only the server of that name); for links and server faults a DC means its primary.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lab.faults.params import FaultParams, Role


class TargetError(ValueError):
    """A name that does not resolve: the field, the problem and the fix."""

    def __init__(self, field: str, problem: str, fix: str = "") -> None:
        self.field, self.problem, self.fix = field, problem, fix
        super().__init__(problem)


@dataclass(frozen=True)
class Names:
    """The names a topology defines: each server's DC, each DC's primary, and the links."""

    servers: dict[str, str]                  # server -> its DC
    primaries: dict[str, str]                # DC -> its primary server
    links: tuple[tuple[str, str], ...]       # (source server, replica server)

    @classmethod
    def of(cls, topology: Any) -> Names:
        """From a resolved topology (lab.db.topology.ResolvedTopology, or a lab's `topology`)."""
        return cls({name: server.dc for name, server in topology.servers.items()}, dict(topology.dcs),
                   tuple((link.source, link.replica) for link in topology.links))

    def known(self) -> str:
        return ", ".join(sorted(set(self.servers) | set(self.primaries)))

    def group(self, name: str, field: str) -> list[str]:
        """Every server of a DC, or one server: `server:NAME` (or a NAME that is not also a DC's name)."""
        if name.startswith("server:"):
            return [self.server(name.removeprefix("server:"), field)]
        members = [server for server, dc in self.servers.items() if dc == name]
        if members:
            return members
        if name in self.servers:
            return [name]
        raise TargetError(field, f"no server or DC named {name!r}", f"use one of: {self.known()}")

    def server(self, name: str, field: str) -> str:
        """One server: a server name, or a DC name meaning its primary."""
        if name in self.servers:
            return name
        if name in self.primaries:
            return self.primaries[name]
        raise TargetError(field, f"no server or DC named {name!r}", f"use one of: {self.known()}")

    def dc(self, name: str, field: str) -> str:
        if name not in self.primaries:
            raise TargetError(field, f"no DC named {name!r}", f"use one of: {', '.join(self.primaries)}")
        return name

    def link(self, text: str, field: str) -> tuple[str, str]:
        """`source->replica`, each a server or a DC (its primary); must be a link of the topology."""
        parts = [p.strip() for p in text.split("->")]
        if len(parts) != 2 or not all(parts):
            raise TargetError(field, f"{text!r} is not SOURCE->REPLICA", "write e.g. dc1->dc2")
        source, replica = (self.server(p, field) for p in parts)
        if (source, replica) not in self.links:
            have = ", ".join(f"{s}->{r}" for s, r in self.links) or "none"
            raise TargetError(field, f"the topology has no link {source}->{replica}", f"links: {have}")
        return source, replica

    def others(self, server: str, field: str) -> list[str]:
        """Every server but `server`: what an isolated server is cut off from (there must be one)."""
        rest = [name for name in self.servers if name != server]
        if not rest:
            raise TargetError(field, f"{server} is the topology's only server; there is nobody to cut it off from",
                              "isolate a server of a topology with two servers or more")
        return rest

    def resolve(self, role: Role, name: str, field: str) -> list[str]:
        """The servers (or the DC) a name stands for in this role."""
        if role == "group":
            return self.group(name, field)
        if role == "server":
            return [self.server(name, field)]
        if role == "alone":
            server = self.server(name, field)
            self.others(server, field)
            return [server]
        if role == "dc":
            return [self.dc(name, field)]
        return list(self.link(name, field))

    def check(self, params: FaultParams) -> None:
        """Resolve every name of a fault; a network fault's two sides must not share a server."""
        sides = [set(self.resolve(role, name, field)) for field, role, name in params.targets()]
        if params.kind in ("partition", "loss", "bandwidth", "latency") and len(sides) == 2 and sides[0] & sides[1]:
            raise TargetError("between", f"both sides contain {', '.join(sorted(sides[0] & sides[1]))}")


def overlapping(windows: Iterable[tuple[int, float, float, list[str]]]) -> tuple[int, int, str] | None:
    """The first two timeline entries (index, start, end, held) that hold the same thing at once, if any."""
    seen: list[tuple[int, float, float, list[str]]] = []
    for index, start, end, held in sorted(windows, key=lambda w: (w[1], w[0])):
        for other, other_start, other_end, other_held in seen:
            common = set(held) & set(other_held)
            if common and start < other_end and other_start < end:
                return other, index, sorted(common)[0]
        seen.append((index, start, end, held))
    return None
