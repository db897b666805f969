"""What every dialect shares: normalised status records, positions, and the base spelling of replication."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lab.errors import LabError

# Runs one statement on a server and returns its rows; dialects read server state only through it.
Run = Callable[[str, Sequence[Any] | None], list[dict]]


def sql_string(value: str) -> str:
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


@dataclass(frozen=True)
class SourceProgress:
    """How far a source has written its binary log, in the terms its replicas can be compared against."""

    gtid_set: str | None = None                 # MySQL GTID
    domains: tuple[tuple[int, int], ...] = ()   # MariaDB GTID: (domain, seq)
    position: BinlogPosition | None = None      # position-based


def parse_version(text: str) -> tuple[int, int, int]:
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        raise LabError(f"cannot parse server version {text!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


class Dialect:
    """Base: shared spelling. Subclasses override what differs; nothing outside lab.db.dialects tests the class."""

    name: ClassVar[str] = ""
    # Whether a consistent snapshot reports the binlog position it was taken at (`snapshot_position`).
    reports_snapshot_position: ClassVar[bool] = False
    # The server's own command-line client, by the names images carry it under (`lab sql`), first found wins.
    clients: ClassVar[tuple[str, ...]] = ("mysql",)

    def __init__(self, version: tuple[int, int, int]) -> None:
        self.version = version

    def __repr__(self) -> str:
        return f"{type(self).__name__}({'.'.join(map(str, self.version))})"

    @property
    def label(self) -> str:
        return f"{self.name} {'.'.join(map(str, self.version))}"

    # --- server options (command line) -------------------------------------------------
    def server_options(self, *, server_id: int, binlog_format: str, gtid: bool, log_replica_updates: bool,
                       domain_id: int) -> list[str]:
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

    def parse_link_status(self, row: dict[str, Any]) -> LinkStatus:
        raise NotImplementedError

    # --- fault injection (lab.faults) ---------------------------------------------------
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
        return f"SET GLOBAL {self.exec_mode_variable()}={sql_string(mode.upper())}"

    def skip_counter(self, count: int = 1) -> str:
        """Skip the next `count` events of a stopped applier (not allowed with MySQL GTID auto-position)."""
        raise NotImplementedError

    def skips_with_empty_transaction(self, use_gtid: bool) -> bool:
        """Whether a failing event is skipped by committing an empty transaction under its GTID (else the counter)."""
        return False

    def net_timeout_variable(self) -> str:
        """How long a receiver waits for data before it reconnects: the time to notice a silent partition."""
        raise NotImplementedError

    def set_net_timeout(self, seconds: int) -> str:
        return f"SET GLOBAL {self.net_timeout_variable()}={int(seconds)}"

    # --- binary log and progress ----------------------------------------------------------
    def binlog_status(self) -> str:
        raise NotImplementedError

    def reset_binary_logs(self) -> list[str]:
        raise NotImplementedError

    def binlog_events(self, log_file: str, limit: int = 10000) -> str:
        return f"SHOW BINLOG EVENTS IN {sql_string(log_file)} LIMIT {int(limit)}"

    def binlog_position(self, run: Run) -> BinlogPosition | None:
        rows = run(self.binlog_status(), None)
        return BinlogPosition(rows[0]["File"], int(rows[0]["Position"])) if rows else None

    def source_progress(self, run: Run, use_gtid: bool) -> SourceProgress:
        """What a source has binlogged so far (position-based here; GTID dialects override)."""
        return SourceProgress(position=self.binlog_position(run))

    def replica_reached(self, run: Run, status: LinkStatus, target: SourceProgress) -> bool:
        """Has this replica applied everything `target` describes?"""
        if target.position is not None:
            executed = BinlogPosition(status.exec_source_log_file, status.exec_source_log_pos)
            return executed.as_tuple() >= target.position.as_tuple()
        return True

    # --- reading for the checker (lab.checker.session) ------------------------------------
    def explain(self, sql: str) -> str:
        """EXPLAIN with the tabular `rows` estimate."""
        return f"EXPLAIN {sql}"

    def gtid_position(self, run: Run) -> str | None:
        """The GTIDs this server has executed, as one string; None when GTIDs cannot describe where it is."""
        raise NotImplementedError

    def snapshot_position(self, run: Run) -> str:
        """Inside a consistent snapshot, where `reports_snapshot_position`: the exact position it was taken at
        ('' with the binlog off). Elsewhere the caller brackets the snapshot with two position reads."""
        raise NotImplementedError

    # --- replication designs (lab.db.designs) ------------------------------------------------
    def unsupported(self, what: str) -> LabError:
        return LabError(f"{self.label} has no {what}")

    def semi_sync_options(self, source: SemiSyncSettings | None, replica: bool) -> list[str]:
        """Server options for semi-synchronous replication: as a source waiting for acks, and/or as a replica
        that sends them."""
        raise self.unsupported("semi-synchronous replication")

    def semi_sync_status(self, run: Run) -> dict[str, str]:
        """The server's semi-sync status variables, with source/master and replica/slave spelt one way."""
        rows = run("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_%'", None)
        names = {"master": "source", "slave": "replica"}
        found = {}
        for row in rows:
            name = str(row["Variable_name"]).lower().removeprefix("rpl_semi_sync_")
            for old, new in names.items():
                name = name.replace(f"{old}_", f"{new}_", 1) if name.startswith(old) else name
            found[name] = str(row["Value"])
        return found

    def group_options(self, settings: GroupSettings) -> list[str]:
        raise self.unsupported("Group Replication")

    def group_recovery_statements(self, user: str, password: str) -> list[str]:
        raise self.unsupported("Group Replication")

    def group_start(self, bootstrap: bool) -> list[str]:
        raise self.unsupported("Group Replication")

    def group_stop(self) -> str:
        raise self.unsupported("Group Replication")

    def group_members(self) -> str:
        raise self.unsupported("Group Replication")

    def group_queue(self) -> str:
        raise self.unsupported("Group Replication")

    def galera_options(self, settings: GaleraSettings) -> list[str]:
        raise self.unsupported("Galera")

    def galera_address_file(self, nodes: list[str]) -> str:
        raise self.unsupported("Galera")

    def galera_bootstrap(self) -> str:
        raise self.unsupported("Galera")

    def certification_errnos(self) -> frozenset[int]:
        """Errors a write gets when certification rolls it back at commit (its design's first committer won)."""
        return frozenset()


@dataclass(frozen=True)
class SemiSyncSettings:
    wait_point: str
    timeout_ms: int


@dataclass(frozen=True)
class GroupSettings:
    """One member's Group Replication settings."""

    group_name: str            # a UUID shared by the group
    local_address: str         # host:port this member listens on for the group
    seeds: tuple[str, ...]     # every member's local address
    single_primary: bool
    enforce_update_everywhere_checks: bool


@dataclass(frozen=True)
class GaleraSettings:
    """One node's Galera settings; the cluster address is in a file the lab rewrites (lab.db.designs.galera)."""

    cluster_name: str
    node: str
    sst_method: str
    address_file: str
