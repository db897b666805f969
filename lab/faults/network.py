"""Network faults between two groups of servers (DCs or single servers): partition, loss, bandwidth, latency.

`between: [A, B]` names two DCs or servers; `direction` is `both`, `A->B` or `B->A` and says
which way packets are affected. Rules live in the containers' namespaces, so a container
that restarts during the fault comes back without them (its namespace is new); heal then
has nothing left to remove there.
"""

from __future__ import annotations

import os
from typing import Any

from lab.db.replication import Link, link_status
from lab.db.server import Server
from lab.faults import iptables, shaping, threads
from lab.faults.base import Fault, FaultError
from lab.faults.context import FaultContext
from lab.faults.iptables import Flow
from lab.faults.netns import Netns, NetnsError, ip_on
from lab.faults.netns import of as netns_of
from lab.faults.params import (
    BandwidthParams,
    IsolateParams,
    LatencyParams,
    LossParams,
    PartitionParams,
    parse_direction,
)
from lab.faults.proxy import DelayProxy


class NetworkFault(Fault):
    """Shared target handling: two groups of servers and the directed flows between them."""

    def __init__(self, ctx: FaultContext, between: tuple[str, str] | list[str], direction: str = "both",
                 sides: tuple[list[Server], list[Server]] | None = None) -> None:
        super().__init__(ctx)
        self.between = (str(between[0]), str(between[1]))
        try:
            self.flow = parse_direction(self.between, direction)
        except ValueError as exc:
            raise ctx.error("direction", str(exc)) from None
        self.direction = direction
        self.left, self.right = sides or (ctx.servers(self.between[0], "between"),
                                          ctx.servers(self.between[1], "between"))
        overlap = {s.name for s in self.left} & {s.name for s in self.right}
        if overlap:
            raise ctx.error("between", f"both sides contain {', '.join(sorted(overlap))}")
        self._touched: dict[str, Netns] = {}

    @property
    def tag(self) -> str:
        return iptables.tag_for(self.ctx.lab.name, f"{os.getpid()}/{self.id}")

    def flows(self) -> list[Flow]:
        return iptables.flows([s.name for s in self.left], [s.name for s in self.right], self.flow)

    def servers(self) -> dict[str, Server]:
        return {s.name: s for s in [*self.left, *self.right]}

    def addresses(self) -> dict[str, str]:
        return {name: ip_on(server.container, self.ctx.network) for name, server in self.servers().items()}

    def netns(self, name: str) -> Netns:
        """The namespace of a server, remembered for heal (healing only ever touches that same namespace)."""
        if name not in self._touched:
            self._touched[name] = netns_of(self.servers()[name].container)
        return self._touched[name]

    def base_params(self) -> dict[str, Any]:
        return {"between": list(self.between), "direction": self.direction}



class Partition(NetworkFault):
    """Silently drop packets between the groups (iptables DROP on the receiving side; no RST, no ICMP).

    scope 'all' drops everything; 'replication' only what a mysqld sends to the other side's
    replicas (source port 3306), which is the meaningful one-way cut for TCP: `dc1->dc2`
    then stops dc2 replicating from dc1 while dc1 keeps replicating from dc2. Default: 'all'
    for both directions, 'replication' for one direction.
    """

    kind = "partition"

    def __init__(self, ctx: FaultContext, between: tuple[str, str] | list[str], direction: str = "both",
                 scope: str | None = None, sides: tuple[list[Server], list[Server]] | None = None) -> None:
        super().__init__(ctx, between, direction, sides)
        self.scope = scope or ("all" if self.flow == "both" else "replication")

    def drop_probability(self) -> float | None:
        return None

    def params(self) -> dict[str, Any]:
        return {**self.base_params(), "scope": self.scope}

    def rules(self) -> list[iptables.DropRule]:
        return iptables.drop_rules(self.flows(), self.addresses(), self.tag, self.scope,  # type: ignore[arg-type]
                                   self.drop_probability())

    def _start(self) -> dict[str, Any]:
        rules = self.rules()
        for rule in rules:
            iptables.insert(self.netns(rule.receiver), rule)
        return {"rules": [{"in": r.receiver, "from": r.sender_ip, "sport": r.sender_port} for r in rules]}

    def _heal(self) -> dict[str, Any]:
        removed, gone = 0, []
        for name, netns in self._touched.items():
            if not netns.alive():
                gone.append(name)  # restarted or stopped: its rules died with the namespace
                continue
            removed += iptables.remove_tagged(netns, self.tag)
        self._touched.clear()
        return {"rules_removed": removed, "namespaces_gone": gone, **self.rejoin()}

    def rejoin(self) -> dict[str, Any]:
        """A group member or Galera node cut off may have been expelled: the design brings it back (nothing to
        do on asynchronous links, which reconnect by themselves)."""
        rejoined = {name: self.ctx.lab.design.rejoin(self.ctx.lab, server) for name, server in self.servers().items()}
        return {"rejoin": rejoined} if self.ctx.lab.design.certifying else {}

    @classmethod
    def from_params(cls, ctx: FaultContext, params: PartitionParams) -> Partition:
        return cls(ctx, params.between, params.direction, params.scope)


class Isolate(Partition):
    """Partition one server from every other server of the lab: a group member or Galera node alone in its DC
    loses quorum, and the others go on without it (or not). Its clients still reach it."""

    kind = "isolate"

    def __init__(self, ctx: FaultContext, server: str) -> None:
        alone = ctx.server(server)
        super().__init__(ctx, (alone.name, "others"), "both", "all", sides=([alone], ctx.others(alone)))
        self.alone = alone

    def params(self) -> dict[str, Any]:
        return {"server": self.alone.name, "from": [s.name for s in self.right]}

    @classmethod
    def from_params(cls, ctx: FaultContext, params: IsolateParams) -> Isolate:
        return cls(ctx, params.target)


class PacketLoss(Partition):
    """Drop each packet between the groups with a probability (iptables `-m statistic`)."""

    kind = "loss"

    def __init__(self, ctx: FaultContext, between: tuple[str, str] | list[str], probability: float,
                 direction: str = "both", scope: str = "all") -> None:
        super().__init__(ctx, between, direction, scope)
        self.loss = float(probability)

    def drop_probability(self) -> float | None:
        return self.loss

    def params(self) -> dict[str, Any]:
        return {**super().params(), "probability": self.loss}

    @classmethod
    def from_params(cls, ctx: FaultContext, params: LossParams) -> PacketLoss:
        return cls(ctx, params.between, params.probability, params.direction, params.scope)


class _Shaper(NetworkFault):
    """Faults that shape each sender's egress toward the other side with a tc class."""

    def __init__(self, ctx: FaultContext, between: tuple[str, str] | list[str], direction: str = "both") -> None:
        super().__init__(ctx, between, direction)
        self._classes: list[tuple[str, shaping.PeerClass]] = []

    def _shape(self, **kwargs: Any) -> list[dict[str, Any]]:
        ips = self.addresses()
        for flow in self.flows():
            shaped = shaping.add(self.netns(flow.sender), ips[flow.receiver], **kwargs)
            self._classes.append((flow.sender, shaped))
        return [{"on": sender, "dev": c.dev, "to": c.peer_ip, "class": c.classid} for sender, c in self._classes]

    def _unshape(self) -> dict[str, Any]:
        gone = []
        for sender, shaped in self._classes:
            netns = self._touched[sender]
            if netns.alive():
                shaping.remove(netns, shaped)
            else:
                gone.append(sender)
        self._classes.clear()
        self._touched.clear()
        return {"namespaces_gone": sorted(set(gone))}


class Bandwidth(_Shaper):
    """Limit the rate of what each side sends to the other (tc HTB class per peer; app traffic is untouched)."""

    kind = "bandwidth"

    def __init__(self, ctx: FaultContext, between: tuple[str, str] | list[str], rate: str,
                 direction: str = "both") -> None:
        super().__init__(ctx, between, direction)
        self.rate = rate

    def params(self) -> dict[str, Any]:
        return {**self.base_params(), "rate": self.rate}

    def _start(self) -> dict[str, Any]:
        return {"classes": self._shape(rate=self.rate)}

    def _heal(self) -> dict[str, Any]:
        return self._unshape()

    @classmethod
    def from_params(cls, ctx: FaultContext, params: BandwidthParams) -> Bandwidth:
        return cls(ctx, params.between, params.rate, params.direction)


class Latency(_Shaper):
    """Add one-way delay to packets between the groups: netem where the kernel has it, else a proxy per link.

    The proxy (lab/faults/proxy.py) only carries replication connections, which is all the
    traffic there is between DCs in this lab. `delay_ms` is added in each affected
    direction, so with direction 'both' a round trip grows by twice the delay.
    """

    kind = "latency"

    def __init__(self, ctx: FaultContext, between: tuple[str, str] | list[str], delay_ms: float,
                 direction: str = "both", jitter_ms: float = 0.0, mechanism: str = "auto",
                 seed: int | None = None) -> None:
        super().__init__(ctx, between, direction)
        self.delay_ms, self.jitter_ms, self.mechanism, self.seed = float(delay_ms), float(jitter_ms), mechanism, seed
        self._proxies: list[tuple[Link, DelayProxy, tuple[str, int]]] = []
        self.used = ""

    def params(self) -> dict[str, Any]:
        params = {**self.base_params(), "delay_ms": self.delay_ms, "jitter_ms": self.jitter_ms,
                  "mechanism": self.mechanism}
        return params if self.seed is None else {**params, "seed": self.seed}

    def choose(self) -> str:
        if self.mechanism != "auto":
            return self.mechanism
        return "netem" if shaping.netem_available() else "proxy"

    def proxied_links(self) -> list[tuple[Link, float, float]]:
        """(link, source->replica delay, replica->source delay) for every link that crosses the affected flows."""
        delayed = {(f.sender, f.receiver) for f in self.flows()}
        seconds = self.delay_ms / 1000
        result = []
        for link in self.ctx.lab.links:
            down = (link.source.name, link.replica.name) in delayed
            up = (link.replica.name, link.source.name) in delayed
            if down or up:
                result.append((link, seconds if down else 0.0, seconds if up else 0.0))
        return result

    def _start(self) -> dict[str, Any]:
        self.used = self.choose()
        if self.used == "netem":
            if not shaping.netem_available():
                raise FaultError(f"fault {self.id}: mechanism netem requested, but this kernel has no sch_netem")
            return {"mechanism": "netem", "classes": self._shape(delay_ms=self.delay_ms, jitter_ms=self.jitter_ms)}
        ips = self.addresses()
        links = []
        for index, (link, down, up) in enumerate(self.proxied_links()):
            proxy = DelayProxy((ips[link.source.name], 3306), netns=self.netns(link.replica.name),
                               down_delay_s=down, up_delay_s=up, jitter_s=self.jitter_ms / 1000,
                               seed=None if self.seed is None else self.seed * 100 + index)
            port = proxy.start()
            original = repoint(link, "127.0.0.1", port)
            self._proxies.append((link, proxy, original))
            links.append({"link": f"{link.source.name}->{link.replica.name}", "proxy_port": port,
                          "down_ms": down * 1000, "up_ms": up * 1000})
        return {"mechanism": "proxy", "links": links}

    def _heal(self) -> dict[str, Any]:
        details: dict[str, Any] = {"mechanism": self.used}
        problems, remaining = [], []
        for link, proxy, original in self._proxies:
            name = f"{link.source.name}->{link.replica.name}"
            try:
                repoint(link, *original)
            except Exception as exc:  # keep healing the other links; a retry re-points this one
                problems.append(f"{name}: {exc}")
                remaining.append((link, proxy, original))
            proxy.stop()
            details.setdefault("bytes", {})[name] = {"down": proxy.stats.bytes_down, "up": proxy.stats.bytes_up}
        self._proxies = remaining
        if self._classes:
            details.update(self._unshape())
        elif not remaining:
            self._touched.clear()
        if problems:
            raise FaultError(f"fault {self.id}: could not re-point: {'; '.join(problems)}")
        return details

    @classmethod
    def from_params(cls, ctx: FaultContext, params: LatencyParams) -> Latency:
        return cls(ctx, params.between, params.delay_ms, params.direction, params.jitter_ms, params.mechanism,
                   params.seed)


def repoint(link: Link, host: str, port: int) -> tuple[str, int]:
    """Point a link's replica at host:port, keeping its position and its threads' running state.

    Returns the previous (host, port). GTID links resume from their executed set; position
    links get the coordinates they had executed, since changing the host resets them.
    """
    replica, dialect = link.replica, link.replica.dialect
    before = link_status(replica)
    if before is None:
        raise NetnsError(f"{replica.name} has no replication configured")
    original = dialect.source_address(before)
    io_on, sql_on = threads.running(before)
    replica.execute(dialect.stop_replica())
    log_file = log_pos = None
    if not link.use_gtid:
        stopped = link_status(replica)
        assert stopped is not None
        log_file, log_pos = stopped.exec_source_log_file, stopped.exec_source_log_pos
    replica.execute(dialect.change_source_address(host, port, log_file, log_pos))
    threads.start(replica, io_on, sql_on)
    return original
