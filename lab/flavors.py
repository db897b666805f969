"""Server-family dialects: the one place that knows how MySQL and MariaDB spell replication.

Everything else in the lab asks a `Dialect` for SQL and for normalised status, and a
dialect is always chosen from what the server itself reports (`detect`), never from an
image name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lab.errors import LabError


def _sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class SourceSpec:
    """Where a replica reads from, and how."""

    host: str
    port: int
    user: str
    password: str
    use_gtid: bool
    delay_seconds: int = 0
    connect_retry: int = 1
    retry_count: int = 86400
    heartbeat_period: float = 1.0


@dataclass
class LinkStatus:
    """One replica's view of its source, with flavor-specific column names normalised."""

    io_running: str
    sql_running: str
    seconds_behind: int | None
    last_io_errno: int
    last_io_error: str
    last_sql_errno: int
    last_sql_error: str
    source_log_file: str
    read_source_log_pos: int
    exec_source_log_file: str
    exec_source_log_pos: int
    sql_delay: int
    retrieved_gtids: str
    executed_gtids: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def running(self) -> bool:
        return self.io_running == "Yes" and self.sql_running == "Yes"


@dataclass(frozen=True)
class BinlogPosition:
    file: str
    position: int

    def as_tuple(self) -> tuple[int, int]:
        """Order positions by file sequence number, then offset."""
        match = re.search(r"\.(\d+)$", self.file)
        return (int(match.group(1)) if match else 0, self.position)


def parse_version(text: str) -> tuple[int, int, int]:
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        raise LabError(f"cannot parse server version {text!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


class Dialect:
    """Base: shared spelling. Subclasses override what differs."""

    name: ClassVar[str] = ""
    server_binaries: ClassVar[tuple[str, ...]] = ()

    def __init__(self, version: tuple[int, int, int]) -> None:
        self.version = version

    def __repr__(self) -> str:
        return f"{type(self).__name__}({'.'.join(map(str, self.version))})"

    @property
    def label(self) -> str:
        return f"{self.name} {'.'.join(map(str, self.version))}"

    # --- server options (command line) -------------------------------------------------
    def server_options(
        self,
        *,
        server_id: int,
        binlog_format: str,
        gtid: bool,
        log_replica_updates: bool,
        domain_id: int,
    ) -> list[str]:
        raise NotImplementedError

    # --- replication control ---------------------------------------------------------
    def change_source(self, spec: SourceSpec) -> str:
        raise NotImplementedError

    def start_replica(self, thread: str | None = None) -> str:
        return f"START {self._replica_word()}" + (f" {thread}" if thread else "")

    def stop_replica(self, thread: str | None = None) -> str:
        return f"STOP {self._replica_word()}" + (f" {thread}" if thread else "")

    def reset_replica_all(self) -> str:
        return f"RESET {self._replica_word()} ALL"

    def replica_status(self) -> str:
        return f"SHOW {self._replica_word()} STATUS"

    def set_delay(self, seconds: int) -> str:
        raise NotImplementedError

    def set_parallel_workers(self, workers: int) -> str:
        raise NotImplementedError

    def _replica_word(self) -> str:
        raise NotImplementedError

    # --- fault injection (lab/faults) ---------------------------------------------------
    def change_source_address(self, host: str, port: int, log_file: str | None = None,
                              log_pos: int | None = None) -> str:
        """Re-point a stopped replica, keeping every other setting; position-based links must pass coordinates."""
        raise NotImplementedError

    def source_address(self, status: LinkStatus) -> tuple[str, int]:
        """The host and port a replica currently connects to, from its status row."""
        raise NotImplementedError

    def exec_mode_variable(self) -> str:
        """`replica_exec_mode` or `slave_exec_mode`: STRICT stops on conflicts, IDEMPOTENT ignores them."""
        raise NotImplementedError

    def set_exec_mode(self, mode: str) -> str:
        return f"SET GLOBAL {self.exec_mode_variable()}={_sql_string(mode.upper())}"

    def skip_counter(self, count: int = 1) -> str:
        """Skip the next `count` events of a stopped applier (not allowed with MySQL GTID auto-position)."""
        raise NotImplementedError

    def net_timeout_variable(self) -> str:
        """How long a receiver waits for data before it reconnects: the time to notice a silent partition."""
        raise NotImplementedError

    def set_net_timeout(self, seconds: int) -> str:
        return f"SET GLOBAL {self.net_timeout_variable()}={int(seconds)}"

    # --- binary log ------------------------------------------------------------------
    def binlog_status(self) -> str:
        raise NotImplementedError

    def reset_binary_logs(self) -> list[str]:
        raise NotImplementedError

    def parse_link_status(self, row: dict[str, Any]) -> LinkStatus:
        raise NotImplementedError

    def binlog_events(self, log_file: str, limit: int = 10000) -> str:
        return f"SHOW BINLOG EVENTS IN {_sql_string(log_file)} LIMIT {int(limit)}"


class MySQLDialect(Dialect):
    name = "mysql"
    server_binaries = ("/usr/sbin/mysqld",)

    @property
    def modern(self) -> bool:
        """8.0.23+ spells replication with SOURCE/REPLICA; 8.4+ only accepts that."""
        return self.version >= (8, 0, 23)

    def server_options(self, *, server_id: int, binlog_format: str, gtid: bool, log_replica_updates: bool,
                       domain_id: int) -> list[str]:
        onoff = "ON" if log_replica_updates else "OFF"
        options = [
            f"--server-id={server_id}",
            "--log-bin=binlog",
            f"--binlog-format={binlog_format}",
            f"--gtid-mode={'ON' if gtid else 'OFF'}",
            f"--enforce-gtid-consistency={'ON' if gtid else 'OFF'}",
            "--relay-log=relay-bin",
            "--skip-replica-start" if self.modern else "--skip-slave-start",
            "--innodb-numa-interleave=OFF",
            "--mysqlx=OFF",
        ]
        if self.version >= (8, 0, 26):
            options.append(f"--log-replica-updates={onoff}")
        else:
            options.append(f"--log-slave-updates={onoff}")
        if self.version >= (8, 0, 30):
            options.append("--innodb-redo-log-capacity=16M")
        return options

    def _replica_word(self) -> str:
        return "REPLICA" if self.modern else "SLAVE"

    def change_source(self, spec: SourceSpec) -> str:
        m = "SOURCE" if self.modern else "MASTER"
        parts = [
            f"{m}_HOST={_sql_string(spec.host)}",
            f"{m}_PORT={int(spec.port)}",
            f"{m}_USER={_sql_string(spec.user)}",
            f"{m}_PASSWORD={_sql_string(spec.password)}",
            f"{m}_CONNECT_RETRY={int(spec.connect_retry)}",
            f"{m}_RETRY_COUNT={int(spec.retry_count)}",
            f"{m}_DELAY={int(spec.delay_seconds)}",
            f"{m}_HEARTBEAT_PERIOD={spec.heartbeat_period}",
            # caching_sha2_password over a non-TLS link needs the source's RSA key.
            f"GET_{m}_PUBLIC_KEY=1",
            f"{m}_AUTO_POSITION={1 if spec.use_gtid else 0}",
        ]
        verb = "CHANGE REPLICATION SOURCE TO" if self.modern else "CHANGE MASTER TO"
        return f"{verb} " + ", ".join(parts)

    def set_delay(self, seconds: int) -> str:
        if self.modern:
            return f"CHANGE REPLICATION SOURCE TO SOURCE_DELAY={int(seconds)}"
        return f"CHANGE MASTER TO MASTER_DELAY={int(seconds)}"

    def set_parallel_workers(self, workers: int) -> str:
        variable = "replica_parallel_workers" if self.version >= (8, 0, 26) else "slave_parallel_workers"
        return f"SET GLOBAL {variable}={int(workers)}"

    def change_source_address(self, host: str, port: int, log_file: str | None = None,
                              log_pos: int | None = None) -> str:
        m = "SOURCE" if self.modern else "MASTER"
        verb = "CHANGE REPLICATION SOURCE TO" if self.modern else "CHANGE MASTER TO"
        parts = [f"{m}_HOST={_sql_string(host)}", f"{m}_PORT={int(port)}"]
        if log_file is not None and log_pos is not None:
            parts += [f"{m}_LOG_FILE={_sql_string(log_file)}", f"{m}_LOG_POS={int(log_pos)}"]
        return f"{verb} " + ", ".join(parts)

    def source_address(self, status: LinkStatus) -> tuple[str, int]:
        row = status.raw
        return (row.get("Source_Host") or row.get("Master_Host") or "",
                int(row.get("Source_Port") or row.get("Master_Port") or 0))

    def exec_mode_variable(self) -> str:
        return "replica_exec_mode" if self.version >= (8, 0, 26) else "slave_exec_mode"

    def skip_counter(self, count: int = 1) -> str:
        variable = "sql_replica_skip_counter" if self.version >= (8, 0, 26) else "sql_slave_skip_counter"
        return f"SET GLOBAL {variable}={int(count)}"

    def net_timeout_variable(self) -> str:
        return "replica_net_timeout" if self.version >= (8, 0, 26) else "slave_net_timeout"

    def binlog_status(self) -> str:
        return "SHOW BINARY LOG STATUS" if self.version >= (8, 2, 0) else "SHOW MASTER STATUS"

    def reset_binary_logs(self) -> list[str]:
        if self.version >= (8, 4, 0):
            return ["RESET BINARY LOGS AND GTIDS"]
        return ["RESET MASTER"]

    def parse_link_status(self, row: dict[str, Any]) -> LinkStatus:
        s = "Source" if "Replica_IO_Running" in row else "Master"
        r = "Replica" if s == "Source" else "Slave"
        return LinkStatus(
            io_running=row.get(f"{r}_IO_Running") or "",
            sql_running=row.get(f"{r}_SQL_Running") or "",
            seconds_behind=row.get(f"Seconds_Behind_{s}"),
            last_io_errno=int(row.get("Last_IO_Errno") or 0),
            last_io_error=row.get("Last_IO_Error") or "",
            last_sql_errno=int(row.get("Last_SQL_Errno") or 0),
            last_sql_error=row.get("Last_SQL_Error") or "",
            source_log_file=row.get(f"{s}_Log_File") or "",
            read_source_log_pos=int(row.get(f"Read_{s}_Log_Pos") or 0),
            exec_source_log_file=row.get(f"Relay_{s}_Log_File") or "",
            exec_source_log_pos=int(row.get(f"Exec_{s}_Log_Pos") or 0),
            sql_delay=int(row.get("SQL_Delay") or 0),
            retrieved_gtids=(row.get("Retrieved_Gtid_Set") or "").replace("\n", ""),
            executed_gtids=(row.get("Executed_Gtid_Set") or "").replace("\n", ""),
            raw=row,
        )


class MariaDBDialect(Dialect):
    name = "mariadb"
    server_binaries = ("/usr/sbin/mariadbd", "/usr/sbin/mysqld")

    def server_options(self, *, server_id: int, binlog_format: str, gtid: bool, log_replica_updates: bool,
                       domain_id: int) -> list[str]:
        return [
            f"--server-id={server_id}",
            "--log-bin=binlog",
            f"--binlog-format={binlog_format}",
            # One GTID domain per writer keeps multi-source/circular positions independent.
            f"--gtid-domain-id={domain_id}",
            "--relay-log=relay-bin",
            "--skip-slave-start",
            f"--log-slave-updates={'ON' if log_replica_updates else 'OFF'}",
            "--innodb-log-file-size=16M",  # matches the seeded datadir; the 96M default costs a copy-up
        ]

    def _replica_word(self) -> str:
        return "REPLICA" if self.version >= (10, 5, 1) else "SLAVE"

    def change_source(self, spec: SourceSpec) -> str:
        parts = [
            f"MASTER_HOST={_sql_string(spec.host)}",
            f"MASTER_PORT={int(spec.port)}",
            f"MASTER_USER={_sql_string(spec.user)}",
            f"MASTER_PASSWORD={_sql_string(spec.password)}",
            f"MASTER_CONNECT_RETRY={int(spec.connect_retry)}",
            f"MASTER_DELAY={int(spec.delay_seconds)}",
            f"MASTER_HEARTBEAT_PERIOD={spec.heartbeat_period}",
            f"MASTER_USE_GTID={'slave_pos' if spec.use_gtid else 'no'}",
        ]
        return "CHANGE MASTER TO " + ", ".join(parts)

    def set_delay(self, seconds: int) -> str:
        return f"CHANGE MASTER TO MASTER_DELAY={int(seconds)}"

    def set_parallel_workers(self, workers: int) -> str:
        return f"SET GLOBAL slave_parallel_threads={int(workers)}"

    def change_source_address(self, host: str, port: int, log_file: str | None = None,
                              log_pos: int | None = None) -> str:
        parts = [f"MASTER_HOST={_sql_string(host)}", f"MASTER_PORT={int(port)}"]
        if log_file is not None and log_pos is not None:
            parts += [f"MASTER_LOG_FILE={_sql_string(log_file)}", f"MASTER_LOG_POS={int(log_pos)}"]
        return "CHANGE MASTER TO " + ", ".join(parts)

    def source_address(self, status: LinkStatus) -> tuple[str, int]:
        return status.raw.get("Master_Host") or "", int(status.raw.get("Master_Port") or 0)

    def exec_mode_variable(self) -> str:
        return "slave_exec_mode"

    def skip_counter(self, count: int = 1) -> str:
        return f"SET GLOBAL sql_slave_skip_counter={int(count)}"

    def net_timeout_variable(self) -> str:
        return "slave_net_timeout"

    def binlog_status(self) -> str:
        return "SHOW MASTER STATUS"

    def reset_binary_logs(self) -> list[str]:
        return ["RESET MASTER", "SET GLOBAL gtid_slave_pos=''"]

    def parse_link_status(self, row: dict[str, Any]) -> LinkStatus:
        return LinkStatus(
            io_running=row.get("Slave_IO_Running") or "",
            sql_running=row.get("Slave_SQL_Running") or "",
            seconds_behind=row.get("Seconds_Behind_Master"),
            last_io_errno=int(row.get("Last_IO_Errno") or 0),
            last_io_error=row.get("Last_IO_Error") or "",
            last_sql_errno=int(row.get("Last_SQL_Errno") or 0),
            last_sql_error=row.get("Last_SQL_Error") or "",
            source_log_file=row.get("Master_Log_File") or "",
            read_source_log_pos=int(row.get("Read_Master_Log_Pos") or 0),
            exec_source_log_file=row.get("Relay_Master_Log_File") or "",
            exec_source_log_pos=int(row.get("Exec_Master_Log_Pos") or 0),
            sql_delay=int(row.get("SQL_Delay") or 0),
            retrieved_gtids=row.get("Gtid_IO_Pos") or "",
            executed_gtids="",
            raw=row,
        )


FAMILIES: dict[str, type[Dialect]] = {"mysql": MySQLDialect, "mariadb": MariaDBDialect}


def dialect_for(family: str, version_text: str) -> Dialect:
    """Dialect for a family name and version string (used before a server exists, e.g. for options)."""
    try:
        cls = FAMILIES[family]
    except KeyError:
        raise LabError(f"unknown flavor {family!r} (known: {', '.join(FAMILIES)})") from None
    version = parse_version(version_text + ".0.0" if version_text.count(".") < 2 else version_text)
    return cls(version)


def detect(version: str, version_comment: str) -> Dialect:
    """Choose the dialect from what the server reports: `SELECT VERSION(), @@version_comment`."""
    family = "mariadb" if "mariadb" in f"{version} {version_comment}".lower() else "mysql"
    return FAMILIES[family](parse_version(version))
