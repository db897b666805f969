"""One database server in a container: its command line, its start, its readiness, its connection."""

from __future__ import annotations

import io
import socket
import tarfile
import time
from dataclasses import dataclass, field

import pymysql
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from lab.db import engine, labels
from lab.db.credentials import Credentials
from lab.db.dialects import Dialect, detect
from lab.db.images.seed import DATADIR, SeededImage
from lab.db.sql import Endpoint, query
from lab.db.topology import OptionValue, ResolvedServer
from lab.errors import LabError, ServerStartError

SCHEMA = "lab"
INIT_FILE = "/lab/init.sql"
CONTAINER_PORT = "3306/tcp"


def container_name(lab_name: str, server_name: str) -> str:
    return f"mysqllab-{lab_name}-{server_name}"


def network_name(lab_name: str) -> str:
    return f"mysqllab-{lab_name}"


def _option_flag(name: str, value: OptionValue) -> str:
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return f"{flag}={'ON' if value else 'OFF'}"
    return f"{flag}={value}"


def command_line(spec: ResolvedServer, image: SeededImage, gtid_domain: int,
                 design_options: list[str] | None = None) -> list[str]:
    """The server's whole configuration, as command-line options (works on official images too). A design's
    `--defaults-extra-file` must be the very first option, so design options that name one lead."""
    leading = [o for o in design_options or [] if o.startswith("--defaults-extra-file=")]
    trailing = [o for o in design_options or [] if o not in leading]
    base = [*leading,
        "--user=mysql",
        f"--datadir={DATADIR}",
        "--port=3306",
        "--bind-address=0.0.0.0",
        f"--init-file={INIT_FILE}",
        "--skip-name-resolve",
        f"--report-host={spec.name}",
    ]
    flavor_options = image.dialect.server_options(
        server_id=spec.server_id,
        binlog_format=spec.binlog_format,
        gtid=spec.gtid,
        log_replica_updates=spec.log_replica_updates,
        domain_id=gtid_domain,
    )
    return base + flavor_options + trailing + [_option_flag(k, v) for k, v in spec.options.items()]


def lab_archive(files: dict[str, str], uid: int, mode: int = 0o600) -> bytes:
    """Files for the container's /lab, owned by the server's user (the init file holds passwords: 0600)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in files.items():
            data = content.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), mode, uid, uid
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Server:
    """A running server of a lab, reachable from the host on 127.0.0.1."""

    name: str
    dc: str
    role: str
    server_id: int
    container: Container
    endpoint: Endpoint
    dialect: Dialect
    spec: ResolvedServer | None = field(default=None, repr=False)

    def connect(self, *, database: str | None = SCHEMA, timeout: float = 5.0,
                read_timeout: float | None = 60.0) -> pymysql.connections.Connection:
        return self.endpoint.connect(database=database, timeout=timeout, read_timeout=read_timeout)

    def query(self, sql: str, args: tuple | dict | None = None) -> list[dict]:
        with self.connect() as connection:
            return query(connection, sql, args)

    def execute(self, *statements: str) -> None:
        with self.connect() as connection, connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    def logs(self, lines: int = 20) -> str:
        try:
            return self.container.logs(tail=lines).decode(errors="replace")
        except (APIError, NotFound):
            return ""


def create(lab_name: str, spec: ResolvedServer, image: SeededImage, credentials: Credentials,
           gtid_domain: int, topology_name: str, design_options: list[str] | None = None,
           files: dict[str, str] | None = None) -> Container:
    """Create and start the container. It is labelled before it exists, so cleanup always finds it."""
    client = engine.client()
    container = client.containers.create(
        image.image,
        name=container_name(lab_name, spec.name),
        hostname=spec.name,
        entrypoint=[image.binary],
        command=command_line(spec, image, gtid_domain, design_options),
        labels={**labels.for_lab(lab_name), labels.SERVER: spec.name, labels.DC: spec.dc,
                labels.TOPOLOGY: topology_name},
        ports={CONTAINER_PORT: ("127.0.0.1", spec.port)},
        network=network_name(lab_name),
        # the plain server name is a DNS alias, so replicas reach `dc1`, not the container name
        networking_config={network_name(lab_name): client.api.create_endpoint_config(aliases=[spec.name])},
        stop_signal="SIGTERM",
        detach=True,
    )
    init = INIT_FILE.rsplit("/", 1)[-1]
    container.put_archive("/lab", lab_archive({init: credentials.init_sql(SCHEMA), **(files or {})},
                                               image.mysql_uid))
    try:
        container.start()
    except APIError as exc:
        explanation = str(getattr(exc, "explanation", exc))
        if "address already in use" in explanation or "port is already allocated" in explanation:
            raise LabError(f"server {spec.name}: host port 127.0.0.1:{spec.port} is already in use "
                           f"(free it, or remove `port:` from servers.{spec.name})") from None
        raise ServerStartError(f"server {spec.name}: container failed to start: {explanation}") from None
    return container


def published_port(container: Container) -> int:
    container.reload()
    bindings = container.attrs["NetworkSettings"]["Ports"].get(CONTAINER_PORT) or []
    for binding in bindings:
        if binding.get("HostIp") in ("127.0.0.1", "") and binding.get("HostPort"):
            return int(binding["HostPort"])
    raise ServerStartError(f"container {container.name} has no published port for {CONTAINER_PORT}")


def error_lines(container: Container, tail: int = 200) -> str:
    """The server's own [ERROR] lines among its last log lines (why it refused something), one per line."""
    try:
        text = container.logs(tail=tail).decode(errors="replace")
    except Exception:   # the container is gone: nothing more to say
        return ""
    return "\n".join(line for line in text.splitlines() if "[ERROR]" in line)


def wait_ready(container: Container, endpoint: Endpoint, timeout: float = 90.0) -> Dialect:
    """Poll until the server accepts the lab's login; fail fast with its log if the container exits."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        try:
            with endpoint.connect(database=None, timeout=2.0) as connection:
                row = query(connection, "SELECT VERSION() AS v, @@version_comment AS c")[0]
                return detect(row["v"], row["c"])
        except pymysql.err.OperationalError:
            pass
        attempt += 1
        if attempt % 10 == 0:
            container.reload()
            if container.status in ("exited", "dead"):
                tail = container.logs(tail=12).decode(errors="replace").strip()
                raise ServerStartError(
                    f"server {container.name} exited during start; last log lines:\n{tail}"
                )
        if time.monotonic() > deadline:
            tail = container.logs(tail=12).decode(errors="replace").strip()
            raise ServerStartError(f"server {container.name} not ready after {timeout:.0f}s; last log lines:\n{tail}")
        time.sleep(0.05)
