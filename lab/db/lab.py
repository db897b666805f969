"""A running topology: bring it up in parallel, wire replication, wait for catch-up, tear it down.

Library use:

    with Lab.up(topology.load("topologies/active-active.yaml")) as lab:
        lab.server("dc1").execute("CREATE TABLE t (id INT PRIMARY KEY)")
        lab.catch_up()

Any failure or interruption during `up` removes everything already created.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

import pymysql
from docker.errors import APIError

from lab.db import cleanup, engine, formats, labels, state
from lab.db import server as srv
from lab.db import topology as topo
from lab.db.credentials import Credentials
from lab.db.designs import Design, design_for
from lab.db.formats import FormatOutcome
from lab.db.images import resolve as image_resolve
from lab.db.images.seed import SeededImage, seeded
from lab.db.replication import CatchUpResult, Link, LinkStatus, link_status
from lab.db.server import Server
from lab.db.sql import Endpoint
from lab.errors import LabError, ReplicationError

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


@dataclass
class Lab:
    name: str
    topology: topo.ResolvedTopology
    servers: dict[str, Server]
    credentials: Credentials = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)
    # Globals changed after start (SET GLOBAL); a restarted server loses them, so they are re-applied.
    runtime_settings: dict[str, str] = field(default_factory=dict)
    # What the servers did with the binlog format of the last reset (None: the format the lab started with).
    format_outcome: FormatOutcome | None = None

    @cached_property
    def design(self) -> Design:
        """How this lab's servers replicate (lab.db.designs): links, a group, or a Galera cluster."""
        return design_for(self.topology)

    # --- construction -------------------------------------------------------------------
    @classmethod
    def up(cls, topology: topo.ResolvedTopology, *, name: str | None = None, progress: Progress = _quiet,
           catch_up_timeout: float = 60.0) -> Lab:
        """Start every server in parallel, wire replication, and wait until all links are caught up.

        The name is claimed first, so two commands starting the same lab cannot mix their containers.
        Whatever goes wrong, everything this call created is removed and the error is one line.
        """
        lab_name = name or topology.name
        if not topo.NAME_PATTERN.match(lab_name):
            raise LabError(f"--lab {lab_name!r}: a lab name is lowercase letters, digits and dashes, at most 31 "
                           "characters (it names containers and networks)")
        with state.claim(lab_name):
            client = engine.client()
            if client.containers.list(all=True, filters={"label": [f"{labels.LAB}={lab_name}"]}):
                raise LabError(f"--lab {lab_name}: a lab of that name is already up (run `lab down --lab {lab_name}` "
                               "first, or name this one with another --lab NAME)")
            for spec in topology.servers.values():
                if spec.port is not None and not srv.port_is_free(spec.port):
                    raise LabError(f"{topology.source_file or topology.name}: servers.{spec.name}.port: "
                                   f"127.0.0.1:{spec.port} is already in use (free it, or remove the port)")
            started = time.monotonic()
            images = cls.prepare_images(topology, progress)
            timings = {"images": time.monotonic() - started}
            pool = ThreadPoolExecutor(max_workers=max(2, len(topology.servers)))
            try:
                with cleanup.sigterm_as_interrupt():
                    return cls._start(lab_name, topology, images, pool, started, timings, progress,
                                      catch_up_timeout)
            except BaseException as exc:
                pool.shutdown(wait=True, cancel_futures=True)
                cleanup.remove_lab(lab_name)
                if isinstance(exc, APIError):
                    raise LabError(f"lab {lab_name!r}: the Docker engine refused a step of the start "
                                   f"({getattr(exc, 'explanation', exc)}); was it removed meanwhile, e.g. by "
                                   "`lab down --all`?") from None
                raise
            finally:
                pool.shutdown(wait=False)

    @classmethod
    def _start(cls, lab_name: str, topology: topo.ResolvedTopology, images: dict[str, SeededImage],
               pool: ThreadPoolExecutor, started: float, timings: dict[str, float], progress: Progress,
               catch_up_timeout: float) -> Lab:
        credentials = Credentials.generate()
        engine.client().networks.create(srv.network_name(lab_name), driver="bridge",
                                        labels={**labels.for_lab(lab_name), labels.TOPOLOGY: topology.name})
        state.save(lab_name, topology.source_file, {}, credentials)
        progress(f"starting {len(topology.servers)} servers")
        design = design_for(topology)
        servers: dict[str, Server] = {}
        waiting: dict[str, Callable[[], Server]] = {}
        for wave in design.start_waves():   # in parallel within a wave, and a wave once the one before is in
            launched = dict(zip(wave, pool.map(
                lambda name: cls._start_server(lab_name, topology, topology.servers[name], images[name],
                                               credentials, design), wave), strict=True))
            if servers and design.admitted(servers, len(servers) + len(waiting) + len(launched)):
                waiting.update(launched)   # members already; they answer once their state transfer is done
                continue
            servers.update(zip(launched, pool.map(lambda ready: ready(), launched.values()), strict=True))
        servers.update(zip(waiting, pool.map(lambda ready: ready(), waiting.values()), strict=True))
        servers = {name: servers[name] for name in topology.servers}
        timings["servers_ready"] = time.monotonic() - started
        lab = cls(lab_name, topology, servers, credentials, timings)
        lab.__dict__["design"] = design   # the instance the servers were started for (`design` is cached)
        progress(f"forming replication ({lab.design.name})")
        try:
            lab.design.form(lab, pool)
        except pymysql.err.MySQLError as exc:   # e.g. START GROUP_REPLICATION refused: say why, in the server's words
            raise ReplicationError(f"{lab.design.label} of lab {lab_name} did not form: {exc.args[0]}: "
                                   f"{exc.args[1] if len(exc.args) > 1 else exc}\n"
                                   + "\n".join(srv.error_lines(s.container) for s in servers.values())) from None
        result = lab.catch_up(timeout=catch_up_timeout)
        timings["caught_up"] = time.monotonic() - started
        if not result.caught_up:
            raise ReplicationError(result.summary())
        progress(f"up in {timings['caught_up']:.1f}s")
        return lab

    @staticmethod
    def prepare_images(topology: topo.ResolvedTopology, progress: Progress) -> dict[str, SeededImage]:
        """Per server, its seeded image, built first where missing: public so that a benchmark can pay for
        image builds before its clock starts."""
        by_request: dict[str, SeededImage] = {}
        result = {}
        for spec in topology.servers.values():
            key = str(spec.image)
            if key not in by_request:
                base = image_resolve.resolve(spec.image, progress=progress)
                by_request[key] = seeded(base)
            result[spec.name] = by_request[key]
        return result

    @staticmethod
    def _start_server(lab_name: str, topology: topo.ResolvedTopology, spec: topo.ResolvedServer,
                      image: SeededImage, credentials: Credentials, design: Design) -> Callable[[], Server]:
        """Create and start the server's container; the call returned waits until the server answers."""
        container = srv.create(lab_name, spec, image, credentials, gtid_domain=spec.server_id,
                               topology_name=topology.name,
                               design_options=design.server_options(spec, image.dialect, lab_name),
                               files=design.files(spec, image.dialect))
        endpoint = Endpoint("127.0.0.1", srv.published_port(container), credentials.admin_user,
                            credentials.admin_password, srv.SCHEMA)

        def ready() -> Server:
            dialect = srv.wait_ready(container, endpoint)
            return Server(spec.name, spec.dc, spec.role, spec.server_id, container, endpoint, dialect, spec)

        return ready

    @classmethod
    def attach(cls, name: str) -> Lab:
        """Reconnect to a lab started by another process (e.g. `lab up` then `lab status`)."""
        saved = state.load(name)
        client = engine.client()
        containers = client.containers.list(all=True, filters={"label": [f"{labels.LAB}={name}"]})
        if saved is None or not containers:
            running = ", ".join(state.all_names()) or "none"
            raise LabError(f"--lab {name}: no lab of that name is up (running labs: {running})")
        topology = topo.load(saved["topology_file"], **{k: v for k, v in saved["overrides"].items() if v})
        credentials: Credentials = saved["credentials"]
        servers = {}
        for container in containers:
            server_name = container.labels[labels.SERVER]
            spec = topology.servers[server_name]
            endpoint = Endpoint("127.0.0.1", srv.published_port(container), credentials.admin_user,
                                credentials.admin_password, srv.SCHEMA)
            dialect = srv.wait_ready(container, endpoint, timeout=10)
            servers[server_name] = Server(server_name, spec.dc, spec.role, spec.server_id, container, endpoint,
                                          dialect, spec)
        ordered = {n: servers[n] for n in topology.servers if n in servers}
        return cls(name, topology, ordered, credentials)

    def remember_overrides(self, overrides: dict[str, str | None]) -> None:
        state.save(self.name, self.topology.source_file, overrides, self.credentials)

    # --- replication ----------------------------------------------------------------------
    @property
    def links(self) -> list[Link]:
        return [Link(self.servers[link.source], self.servers[link.replica], self.topology.servers[link.replica].gtid)
                for link in self.topology.links]

    def catch_up(self, timeout: float = 60.0) -> CatchUpResult:
        """Wait until every server applied everything the others wrote (every link, every member); report errors
        instead of hanging."""
        return self.design.catch_up(self, timeout)

    def link_statuses(self) -> list[tuple[topo.LinkSpec, LinkStatus | None]]:
        with ThreadPoolExecutor(max_workers=max(1, len(self.topology.links))) as pool:
            statuses = list(pool.map(lambda link: link_status(self.servers[link.replica]), self.topology.links))
        return list(zip(self.topology.links, statuses, strict=True))

    def reset(self, *, binlog_format: str | None = None, timeout: float = 60.0) -> CatchUpResult:
        """Return to a freshly-started state without new containers: no user data, nothing in flight.

        The design resets its own way (links: replication stopped, binlogs and GTIDs reset, rewired; a
        group or cluster: one DROP and CREATE through it). `binlog_format` is applied on every server and, on
        a design that certifies (whose plugin may reject writes under a format the server accepted), one write
        is tried: `format_outcome` then says whether the servers accepted it, refused it, or reject writes
        under it. On links nothing is written, so a cell still starts with empty binlogs and GTID sets.
        """
        outcome = FormatOutcome(binlog_format.upper() if binlog_format else None)

        def apply_format(server: Server) -> None:
            if binlog_format:
                formats.apply(server, binlog_format, outcome)

        with ThreadPoolExecutor(max_workers=len(self.servers)) as pool:
            self.design.reset(self, pool, apply_format)
        if binlog_format and not outcome.refused:
            self.runtime_settings["binlog_format"] = binlog_format.upper()
            if self.design.certifying:   # links take writes under any format they accept; a plugin may not
                formats.probe_write(self.primary(next(iter(self.topology.dcs))), outcome)
        result = self.catch_up(timeout=timeout)
        if not result.caught_up:
            raise ReplicationError(result.summary())
        self.format_outcome = outcome
        return result

    def note_start_format(self, binlog_format: str, refusal: str = "") -> FormatOutcome:
        """The lab just started for a cell whose format was a server option: try one write under it (or keep
        why the servers would not start with it), as `format_outcome`."""
        outcome = FormatOutcome(binlog_format.upper(), applied_as="server option", refused_start=refusal)
        if not refusal and self.design.certifying:
            formats.probe_write(self.primary(next(iter(self.topology.dcs))), outcome)
            self.catch_up()
        self.format_outcome = outcome
        return outcome

    def set_global(self, name: str, value: str) -> None:
        """SET GLOBAL on every server, remembered so that a server restarted later gets it again."""
        self.runtime_settings[name] = value
        for server in self.servers.values():
            server.execute(f"SET GLOBAL {name}={value}")

    def reapply_runtime_settings(self, server: Server) -> None:
        for name, value in self.runtime_settings.items():
            server.execute(f"SET GLOBAL {name}={value}")

    # --- access ---------------------------------------------------------------------------
    def server(self, name: str) -> Server:
        try:
            return self.servers[name]
        except KeyError:
            raise LabError(f"lab {self.name!r} has no server {name!r} (have: {', '.join(self.servers)})") from None

    def primary(self, dc: str) -> Server:
        return self.server(self.topology.dcs[dc])

    # --- teardown -------------------------------------------------------------------------
    def down(self) -> None:
        try:
            cleanup.remove_lab(self.name)
        except APIError as exc:
            raise LabError(f"could not remove lab {self.name!r}: {exc}") from None

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.down()
