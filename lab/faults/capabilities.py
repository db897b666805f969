"""What each fault kind needs from the host, and whether it works here given the probed facts (pure logic).

The one place that knows a fault's host requirements: `ROUTES` maps every fault class to the ways the
lab can inject it, in order of preference (e.g. latency: netem, else the TCP delay proxy). A route
needs named facts (`FACTS`), which lab.faults.probes measures; `verdict` turns those facts into
works / works via a fallback / does not work, and says why. Keys are the fault classes themselves,
looked up exactly (no inheritance), so a new kind without an entry shows up as unknown and fails
tests/unit/test_doctor.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from lab.faults.application import ClockSkew
from lab.faults.base import Fault
from lab.faults.links import ExecMode, HoldAppliers, ReplicationDelay, SkipEvent, StopThread
from lab.faults.network import Bandwidth, Isolate, Latency, PacketLoss, Partition
from lab.faults.params import FaultParams
from lab.faults.servers import Crash, Pause, Restart

# Every fact a fault (or the lab) can need: its name -> what it is, as "needs ..." reads it.
FACTS: dict[str, str] = {
    "engine": "the Docker engine (every server runs in a container)",
    "engine_local": "a rootful engine on this machine's kernel (the lab enters its containers' network namespaces)",
    "linux": "a Linux host",
    "root": "root (nsenter and setns need CAP_SYS_ADMIN)",
    "nsenter": "`nsenter` (util-linux) to run host tools in a container's network namespace",
    "unshare": "`unshare` (util-linux) for scratch network namespaces (netem detection, these probes)",
    "iptables": "`iptables` on the host",
    "iptables_rules": "iptables DROP rules with a comment match in a network namespace",
    "iptables_statistic": "the iptables statistic match (random drops)",
    "tc": "`tc` (iproute2) on the host",
    "ip": "`ip` (iproute2) on the host, to find the interface towards a peer",
    "htb": "tc HTB classes with u32 filters (per-peer shaping)",
    "netem": "the kernel's sch_netem qdisc",
    "container_netns": "host tools running inside a container's network namespace (nsenter -t PID -n)",
    "proxy_netns": "a thread moved into a container's network namespace (setns), for the delay proxy",
    "freezer": "`docker pause` (the cgroup freezer)",
    "registry": "a reachable image registry (Docker Hub), to pull official images",
    "debootstrap": "`debootstrap` and root, to build server images offline",
    "plugins": "every installed plugin (entry points lab.workloads, lab.guards, lab.faults) importing",
}


@dataclass(frozen=True)
class Fact:
    """One probed fact: ok is None when it could not be checked (detail says why)."""

    ok: bool | None
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Route:
    """One way of injecting a fault, and the facts it needs."""

    name: str
    how: str
    needs: tuple[str, ...]


Status = Literal["works", "fallback", "unknown", "no"]


@dataclass(frozen=True)
class Verdict:
    kind: str
    status: Status
    route: str          # the route that works ("" when none does)
    how: str            # what that route does, or why nothing works
    missing: tuple[str, ...] = ()   # facts that rule out the preferred route (or every route)


_NETNS = ("engine", "engine_local", "linux", "root", "nsenter", "container_netns")
_DROP = Route("iptables", "iptables DROP rules in the receivers' network namespaces",
              (*_NETNS, "iptables", "iptables_rules"))
_SQL = Route("sql", "SQL on the replica (no host access)", ("engine",))
_ENGINE = Route("engine", "the engine's kill/stop/start of the server's container", ("engine",))

ROUTES: dict[type[Fault], tuple[Route, ...]] = {
    Partition: (_DROP,),
    Isolate: (_DROP,),
    PacketLoss: (Route("iptables", "iptables DROP rules with a random statistic match",
                       (*_DROP.needs, "iptables_statistic")),),
    Bandwidth: (Route("tc", "a tc HTB class per peer in each sender's namespace", (*_NETNS, "tc", "ip", "htb")),),
    Latency: (Route("netem", "a tc netem leaf under an HTB class per peer", (*_NETNS, "tc", "ip", "htb", "netem")),
              Route("proxy", "a TCP delay proxy in the replica's namespace (replication traffic only)",
                    ("engine", "engine_local", "linux", "root", "proxy_netns"))),
    StopThread: (_SQL,),
    HoldAppliers: (_SQL,),
    ReplicationDelay: (_SQL,),
    ExecMode: (_SQL,),
    SkipEvent: (_SQL,),
    Crash: (_ENGINE,),
    Restart: (_ENGINE,),
    Pause: (Route("freezer", "docker pause / unpause (cgroup freezer)", ("engine", "freezer")),),
    ClockSkew: (Route("app", "shifts the lab's own version clock (application level; no host clock is touched)",
                      ()),),
}


def fault_class(type_name: str) -> type[Fault] | None:
    """The Fault class a `type:` spelling (alias included, e.g. stop_io) builds, or None if unknown."""
    model = FaultParams.registry.get(type_name)
    return Fault.registry.get(model.kind if model else type_name)


def routes_for(type_name: str) -> tuple[Route, ...] | None:
    """The routes of a fault kind; None for a kind the lab does not know the needs of (e.g. a plugin's)."""
    cls = fault_class(type_name)
    return ROUTES.get(cls) if cls is not None else None


def aliases() -> dict[str, list[str]]:
    """Each fault kind -> the other `type:` spellings of it (stop_thread -> stop_io, stop_sql)."""
    found: dict[str, list[str]] = {kind: [] for kind in Fault.registry}
    for name, model in sorted(FaultParams.registry.items()):
        if name != model.kind:
            found.setdefault(model.kind, []).append(name)
    return found


_UNCHECKED = Fact(None, "not probed")


def _missing(route: Route, facts: Mapping[str, Fact]) -> list[str]:
    return [name for name in route.needs if facts.get(name, _UNCHECKED).ok is not True]


def reason(names: list[str], facts: Mapping[str, Fact]) -> str:
    """Why facts rule a route out. Facts known to be missing hide those not checked because of them."""
    known = [n for n in names if facts.get(n, _UNCHECKED).ok is False] or names
    if "engine" in known:
        known = ["engine"]  # with the engine down nothing else about containers matters yet
    return "; ".join(f"needs {FACTS.get(n, n)}: {facts.get(n, _UNCHECKED).detail}" for n in known)


def verdict(kind: str, facts: Mapping[str, Fact]) -> Verdict:
    """Does `kind` work here? The first route whose facts all hold wins; a later one is a fallback."""
    routes = routes_for(kind)
    if routes is None:
        return Verdict(kind, "unknown", "", "the lab does not know what this fault kind (a plugin's?) needs")
    preferred = _missing(routes[0], facts)
    for index, route in enumerate(routes):
        if not _missing(route, facts):
            if index == 0:
                return Verdict(kind, "works", route.name, route.how)
            return Verdict(kind, "fallback", route.name,
                           f"via {route.name}: {route.how} ({routes[0].name} ruled out: {reason(preferred, facts)})",
                           tuple(preferred))
    every = [name for route in routes for name in _missing(route, facts)]
    every = list(dict.fromkeys(every))
    known_missing = any(facts.get(name, _UNCHECKED).ok is False for name in every)
    return Verdict(kind, "no" if known_missing else "unknown", "", reason(every, facts), tuple(every))


def verdicts(facts: Mapping[str, Fact]) -> list[Verdict]:
    """One verdict per fault kind registered (plugins included), in name order."""
    return [verdict(kind, facts) for kind in sorted(Fault.registry)]
