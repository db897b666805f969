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

from docker.errors import APIError

from lab.db import cleanup, engine, labels, state
from lab.db import server as srv
from lab.db import topology as topo
from lab.db.credentials import Credentials
from lab.db.images import resolve as image_resolve
from lab.db.images.seed import SeededImage, seeded
from lab.db.replication import CatchUpResult, Link, LinkStatus, catch_up, link_status, wire
from lab.db.server import Server
from lab.db.sql import Endpoint
from lab.errors import LabError, ReplicationError

Progress = Callable[[str], None]
SYSTEM_SCHEMAS = ("mysql", "sys", "information_schema", "performance_schema")


def _reset_server(server: Server, binlog_format: str | None) -> None:
    with server.connect(database=None) as connection, connection.cursor() as cursor:
        cursor.execute("SET SESSION sql_log_bin=0")
        cursor.execute("SELECT schema_name AS name FROM information_schema.schemata")
        for row in cursor.fetchall():
            name = row["name"]
            if name.lower() not in SYSTEM_SCHEMAS:
                cursor.execute(f"DROP DATABASE `{name}`")
        cursor.execute(f"CREATE DATABASE `{srv.SCHEMA}`")
        for statement in server.dialect.reset_binary_logs():
            cursor.execute(statement)
        if binlog_format:
            cursor.execute(f"SET GLOBAL binlog_format={binlog_format.upper()}")


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
            raise LabError(f"--name {lab_name!r}: a lab name is lowercase letters, digits and dashes, at most 31 "
                           "characters (it names containers and networks)")
        with state.claim(lab_name):
            client = engine.client()
            if client.containers.list(all=True, filters={"label": [f"{labels.LAB}={lab_name}"]}):
                raise LabError(f"lab {lab_name!r} is already up (run `lab down {lab_name}` first, or use --name)")
            for spec in topology.servers.values():
                if spec.port is not None and not srv.port_is_free(spec.port):
                    raise LabError(f"{topology.source_file or topology.name}: servers.{spec.name}.port: "
                                   f"127.0.0.1:{spec.port} is already in use (free it, or remove the port)")
            started = time.monotonic()
            images = cls._prepare_images(topology, progress)
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
        servers = dict(zip(topology.servers, pool.map(
            lambda spec: cls._start_server(lab_name, topology, spec, images[spec.name], credentials),
            topology.servers.values()), strict=True))
        timings["servers_ready"] = time.monotonic() - started
        lab = cls(lab_name, topology, servers, credentials, timings)
        progress("wiring replication")
        lab._wire_all(pool)
        result = lab.catch_up(timeout=catch_up_timeout)
        timings["caught_up"] = time.monotonic() - started
        if not result.caught_up:
            raise ReplicationError(result.summary())
        progress(f"up in {timings['caught_up']:.1f}s")
        return lab

    @staticmethod
    def _prepare_images(topology: topo.ResolvedTopology, progress: Progress) -> dict[str, SeededImage]:
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
                      image: SeededImage, credentials: Credentials) -> Server:
        container = srv.create(lab_name, spec, image, credentials, gtid_domain=spec.server_id,
                               topology_name=topology.name)
        endpoint = Endpoint("127.0.0.1", srv.published_port(container), credentials.admin_user,
                            credentials.admin_password, srv.SCHEMA)
        dialect = srv.wait_ready(container, endpoint)
        return Server(spec.name, spec.dc, spec.role, spec.server_id, container, endpoint, dialect, spec)

    @classmethod
    def attach(cls, name: str) -> Lab:
        """Reconnect to a lab started by another process (e.g. `lab up` then `lab status`)."""
        saved = state.load(name)
        client = engine.client()
        containers = client.containers.list(all=True, filters={"label": [f"{labels.LAB}={name}"]})
        if saved is None or not containers:
            running = ", ".join(state.all_names()) or "none"
            raise LabError(f"no lab named {name!r} is up (running labs: {running})")
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
    def _wire_all(self, pool: ThreadPoolExecutor) -> None:
        def wire_one(link: topo.LinkSpec) -> None:
            source, replica = self.servers[link.source], self.servers[link.replica]
            wire(source, replica, link, self.credentials.replication_user, self.credentials.replication_password,
                 use_gtid=self.topology.servers[link.replica].gtid)

        list(pool.map(wire_one, self.topology.links))

    @property
    def links(self) -> list[Link]:
        return [Link(self.servers[link.source], self.servers[link.replica], self.topology.servers[link.replica].gtid)
                for link in self.topology.links]

    def catch_up(self, timeout: float = 60.0) -> CatchUpResult:
        """Wait until every replica applied everything its source binlogged; report errors instead of hanging."""
        return catch_up(self.links, timeout=timeout)

    def link_statuses(self) -> list[tuple[topo.LinkSpec, LinkStatus | None]]:
        with ThreadPoolExecutor(max_workers=max(1, len(self.topology.links))) as pool:
            statuses = list(pool.map(lambda link: link_status(self.servers[link.replica]), self.topology.links))
        return list(zip(self.topology.links, statuses, strict=True))

    def reset(self, *, binlog_format: str | None = None, timeout: float = 60.0) -> CatchUpResult:
        """Return to a freshly-started state without new containers: no user data, empty binlogs and GTIDs.

        Replication is stopped everywhere first, so nothing in flight leaks into the next cell;
        user schemas are dropped with the binary log off, binlogs and GTID history are reset,
        `binlog_format` is optionally switched globally, then links are re-wired and caught up.
        """
        servers = list(self.servers.values())
        if binlog_format:
            self.runtime_settings["binlog_format"] = binlog_format.upper()
        with ThreadPoolExecutor(max_workers=len(servers)) as pool:
            list(pool.map(lambda s: s.execute(s.dialect.stop_replica(), s.dialect.reset_replica_all()), servers))
            list(pool.map(lambda s: _reset_server(s, binlog_format), servers))
            self._wire_all(pool)
        result = self.catch_up(timeout=timeout)
        if not result.caught_up:
            raise ReplicationError(result.summary())
        return result

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
