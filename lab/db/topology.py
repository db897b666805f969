"""Topology files: which servers exist, in which DC, with which binlog settings, replicating to whom and how.

`replication` names the design: `one-way` or `circular` asynchronous links (each optionally
semi-synchronous), `group` (MySQL Group Replication, one member per DC) or `galera` (MariaDB
Galera, one node per DC). How each design starts, forms and catches up is lab.db.designs' job.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from lab import shipped, yamlfile
from lab.db.images.spec import ImageRequest, parse_flavor
from lab.errors import ConfigError
from lab.yamlfile import FieldProblem

BinlogFormat = Literal["STATEMENT", "ROW", "MIXED"]
Replication = Literal["one-way", "circular", "group", "galera"]
CERTIFYING = ("group", "galera")          # designs whose members certify writes, with no links between them
FAMILY_OF_DESIGN = {"group": "mysql", "galera": "mariadb"}   # the server family a design exists in
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
OPTION_PATTERN = re.compile(r"^[a-z][a-z0-9_-]*$")
OptionValue = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _check_flavor(value: str | None) -> str | None:
    if value is not None:
        parse_flavor(value)  # raises ValueError with a reason
    return value


def _normalise_format(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


class ServerSettings(_Strict):
    """Settings a server may set, each falling back to the topology's `defaults`."""

    flavor: str | None = Field(None, description="FAMILY:VERSION, e.g. mysql:9.7 or mariadb:10.11")
    image: str | None = Field(None, description="explicit image; the flavor is then detected from the server")
    binlog_format: BinlogFormat | None = None
    gtid: bool | None = None
    log_replica_updates: bool | None = None
    options: dict[str, OptionValue] = Field(default_factory=dict, description="extra server options")

    _flavor = field_validator("flavor")(_check_flavor)
    _format = field_validator("binlog_format", mode="before")(_normalise_format)

    @field_validator("options", mode="before")
    @classmethod
    def _option_names(cls, value: object) -> object:
        # Checked before pydantic's union validation, whose errors would name `options.X.str` four times.
        if isinstance(value, dict):
            for name, option in value.items():
                if not isinstance(name, str) or not OPTION_PATTERN.match(name):
                    raise FieldProblem(str(name), f"option name {name!r} must look like innodb_flush_log_at_trx_commit")
                if not isinstance(option, OptionValue):
                    raise FieldProblem(name, f"must be a string, number or boolean (got {option!r})")
        return value


class Defaults(ServerSettings):
    flavor: str | None = "mysql:9.7"
    binlog_format: BinlogFormat | None = "STATEMENT"
    gtid: bool | None = True
    log_replica_updates: bool | None = True


class ServerSpec(ServerSettings):
    dc: str | None = Field(None, description="datacenter; defaults to the server's name")
    role: Literal["primary", "replica"] = "primary"
    # StrictInt: `port: true` must not quietly become port 1
    port: StrictInt | None = Field(None, ge=1, le=65535, description="fixed host port on 127.0.0.1; default: any free")


class SemiSync(_Strict):
    """Semi-synchronous replication on a link: the source waits for this replica's acknowledgement."""

    wait_point: Literal["AFTER_SYNC", "AFTER_COMMIT"] = Field(
        "AFTER_SYNC", description="AFTER_SYNC: wait before the commit is visible; AFTER_COMMIT: after")
    timeout_ms: StrictInt = Field(10_000, ge=0, description="fall back to asynchronous after this long without ack")


class LinkSpec(_Strict):
    source: str
    replica: str
    delay: StrictInt = Field(0, ge=0, description="SOURCE_DELAY/MASTER_DELAY in seconds")
    parallel_workers: StrictInt | None = Field(None, ge=0, le=1024)
    semi_sync: SemiSync | None = Field(None, description="make the link semi-synchronous")


class GroupSpec(_Strict):
    """Group Replication settings (`replication: group`)."""

    mode: Literal["multi-primary", "single-primary"] = "multi-primary"
    primary: str | None = Field(None, description="single-primary: the member that bootstraps as primary "
                                                  "(default: the first server)")
    enforce_update_everywhere_checks: bool = Field(True, description="multi-primary: refuse what is unsafe "
                                                                     "everywhere (e.g. SERIALIZABLE, FK cascades)")


class GaleraSpec(_Strict):
    """Galera settings (`replication: galera`)."""

    sst_method: Literal["rsync", "mariabackup"] = Field("rsync", description="how a joining node copies the data")


class Topology(_Strict):
    name: str
    description: str = ""
    replication: Replication = Field(
        ..., description="one-way: links without cycles; circular: links with cycles; group: MySQL Group "
                         "Replication; galera: MariaDB Galera (both: one member per DC, no links)"
    )
    group: GroupSpec | None = None
    galera: GaleraSpec | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    servers: dict[str, ServerSpec]
    links: list[LinkSpec] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(f"{value!r} must be lowercase letters, digits and dashes, at most 31 characters")
        return value

    @field_validator("servers", mode="before")
    @classmethod
    def _empty_bodies(cls, value: object) -> object:
        """`dc1:` with nothing after it means a server with all defaults, like `dc1: {}`."""
        if isinstance(value, dict):
            return {name: ({} if body is None else body) for name, body in value.items()}
        return value

    @field_validator("servers")
    @classmethod
    def _server_names(cls, value: dict[str, ServerSpec]) -> dict[str, ServerSpec]:
        if not value:
            raise ValueError("at least one server is required")
        for name in value:
            if not NAME_PATTERN.match(name):
                raise FieldProblem(name, f"server name {name!r} must be lowercase letters, digits and dashes, "
                                         "at most 31 characters")
        return value

    @model_validator(mode="after")
    def _design(self) -> Topology:
        for block in ("group", "galera"):
            if getattr(self, block) is not None and self.replication != block:
                raise FieldProblem(block, f"a `{block}:` block needs replication: {block}", f"remove `{block}:`")
        if self.replication not in CERTIFYING:
            return self
        if self.links:
            raise FieldProblem("links", f"a {self.replication} topology replicates among its members, not over "
                                        "links", "remove `links:`")
        for name, server in self.servers.items():
            if server.role != "primary":
                raise FieldProblem(f"servers.{name}.role", f"every member of a {self.replication} topology is a "
                                                           "primary of its own DC", "remove `role: replica`")
        if self.replication == "group":
            if any(spec.gtid is False for spec in (self.defaults, *self.servers.values())):
                raise FieldProblem("defaults.gtid", "Group Replication needs GTIDs", "set gtid: true")
            primary = (self.group or GroupSpec()).primary
            if primary is not None and primary not in self.servers:
                raise FieldProblem("group.primary", f"names undefined server {primary!r}",
                                   f"use one of: {', '.join(self.servers)}")
        return self

    @model_validator(mode="after")
    def _semi_sync(self) -> Topology:
        """A source waits at one wait point with one timeout, whichever of its replicas acknowledges."""
        chosen: dict[str, tuple[int, SemiSync]] = {}
        for index, link in enumerate(self.links):
            if link.semi_sync is None:
                continue
            first = chosen.setdefault(link.source, (index, link.semi_sync))
            if first[1] != link.semi_sync:
                raise FieldProblem(f"links.{index}.semi_sync", f"differs from links.{first[0]}.semi_sync, a link "
                                   f"from the same source {link.source!r}", "give every semi-sync link of a "
                                   "source the same wait_point and timeout_ms")
        return self

    @model_validator(mode="after")
    def _links_and_roles(self) -> Topology:
        seen_replicas: dict[str, int] = {}
        for index, link in enumerate(self.links):
            for end in ("source", "replica"):
                target = getattr(link, end)
                if target not in self.servers:
                    raise FieldProblem(f"links.{index}.{end}", f"names undefined server {target!r}",
                                      f"define it under servers (have: {', '.join(self.servers)})")
            if link.source == link.replica:
                raise FieldProblem(f"links.{index}", "a server cannot replicate from itself")
            if link.replica in seen_replicas:
                raise FieldProblem(f"links.{index}.replica",
                                  f"{link.replica!r} already has a source (links.{seen_replicas[link.replica]})",
                                  "each replica has one source; multi-source is not supported")
            seen_replicas[link.replica] = index
        cycle = _find_cycle(self.links)
        if cycle and self.replication == "one-way":
            raise FieldProblem("links", f"cycle {' -> '.join(cycle)} in a one-way topology",
                              "set replication: circular, or remove a link")
        primaries: dict[str, list[str]] = {}
        for name, server in self.servers.items():
            if server.role == "primary":
                primaries.setdefault(server.dc or name, []).append(name)
        for dc, names in primaries.items():
            if len(names) > 1:
                raise FieldProblem(f"servers.{names[1]}.role", f"DC {dc!r} already has primary {names[0]!r}",
                                  "set role: replica")
        for name, server in self.servers.items():
            dc = server.dc or name
            if dc not in primaries:
                raise FieldProblem(f"servers.{name}.dc", f"DC {dc!r} has no primary server", "set role: primary on one")
        port_owner: dict[int, str] = {}
        for name, server in self.servers.items():
            if server.port is not None:
                if server.port in port_owner:
                    raise FieldProblem(f"servers.{name}.port", f"port {server.port} is already used by "
                                       f"{port_owner[server.port]!r}", "give each server a distinct port")
                port_owner[server.port] = name
        return self


def _find_cycle(links: list[LinkSpec]) -> list[str] | None:
    graph: dict[str, list[str]] = {}
    for link in links:
        graph.setdefault(link.source, []).append(link.replica)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in list(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


@dataclass(frozen=True)
class ResolvedServer:
    """A server with every default applied: what the lab actually starts."""

    name: str
    dc: str
    role: str
    server_id: int
    image: ImageRequest
    binlog_format: str
    gtid: bool
    log_replica_updates: bool
    options: dict[str, OptionValue]
    port: int | None


@dataclass(frozen=True)
class ResolvedTopology:
    name: str
    description: str
    replication: str
    servers: dict[str, ResolvedServer]
    links: tuple[LinkSpec, ...]
    source_file: str = ""
    group: GroupSpec | None = None
    galera: GaleraSpec | None = None

    @property
    def certifying(self) -> bool:
        """Members certify each other's writes (group, galera): there are no links whose appliers could be held."""
        return self.replication in CERTIFYING

    @property
    def dcs(self) -> dict[str, str]:
        """DC name -> its primary server."""
        return {s.dc: s.name for s in self.servers.values() if s.role == "primary"}


def resolve(topology: Topology, *, flavor: str | None = None, binlog_format: str | None = None,
            source_file: str = "") -> ResolvedTopology:
    """Apply defaults, then command-line overrides (which win over every server's own setting)."""
    if flavor is not None:
        try:
            parse_flavor(flavor)
        except ValueError as exc:
            raise ConfigError("--flavor", "flavor", str(exc)) from None
    if binlog_format is not None and binlog_format.upper() not in ("STATEMENT", "ROW", "MIXED"):
        raise ConfigError("--binlog-format", "binlog_format", f"{binlog_format!r} is not STATEMENT, ROW or MIXED")
    servers: dict[str, ResolvedServer] = {}
    d = topology.defaults
    variant = "galera" if topology.replication == "galera" else None
    for index, (name, spec) in enumerate(topology.servers.items(), start=1):
        chosen_flavor = flavor or spec.flavor or (None if spec.image else d.flavor)
        image_ref = None if flavor else (spec.image or (None if spec.flavor else d.image))
        request = ImageRequest(None, None, image_ref) if image_ref else parse_flavor(chosen_flavor or "")
        needed = FAMILY_OF_DESIGN.get(topology.replication)
        if needed and request.family not in (None, needed):
            where = "--flavor" if flavor else source_file or topology.name
            raise ConfigError(where, "flavor", f"{request.official_reference} cannot run replication: "
                                               f"{topology.replication}, which is a {needed} design",
                              f"use a {needed} flavor")
        if variant and request.family:
            request = dataclasses.replace(request, variant=variant)
        servers[name] = ResolvedServer(
            name=name,
            dc=spec.dc or name,
            role=spec.role,
            server_id=index,
            image=request,
            binlog_format=(binlog_format or spec.binlog_format or d.binlog_format or "STATEMENT").upper(),
            gtid=spec.gtid if spec.gtid is not None else bool(d.gtid),
            log_replica_updates=(
                spec.log_replica_updates if spec.log_replica_updates is not None else bool(d.log_replica_updates)
            ),
            options={**d.options, **spec.options},
            port=spec.port,
        )
    group = topology.group or (GroupSpec() if topology.replication == "group" else None)
    galera = topology.galera or (GaleraSpec() if topology.replication == "galera" else None)
    return ResolvedTopology(topology.name, topology.description, topology.replication, servers,
                            tuple(topology.links), source_file, group, galera)


def load(path: str | Path, *, flavor: str | None = None, binlog_format: str | None = None) -> ResolvedTopology:
    """Read, validate and resolve a topology file (or a shipped topology, by name). Raises ConfigError naming
    file and field."""
    path = find(str(path))
    data = yamlfile.read_mapping(path)
    topology = yamlfile.validate(Topology, data, str(path))
    return resolve(topology, flavor=flavor, binlog_format=binlog_format, source_file=str(path))


def find(name_or_path: str) -> Path:
    """A path, or a name: `./topologies/NAME.yaml` (a `lab init` copy) first, else the shipped topology."""
    return shipped.find("topologies", name_or_path)
