"""MariaDB's spelling of replication: CHANGE MASTER, Slave_* status columns, domain-server-sequence GTIDs."""

from __future__ import annotations

from typing import Any

from lab.db.dialects.base import (
    Dialect,
    GaleraSettings,
    LinkStatus,
    Run,
    SemiSyncSettings,
    SourceProgress,
    SourceSpec,
    sql_string,
)

GALERA_PROVIDER = "/usr/lib/galera/libgalera_smm.so"   # Debian's galera-4, and the official images'
# A write rolled back because a write set that certified first conflicts with it (brute-force abort, or a
# failed certification at commit): MariaDB reports both as a deadlock.
GALERA_ROLLBACK_ERRNOS = frozenset({1213})


def gtid_domains(text: str) -> dict[int, int]:
    """`0-1-5,2-2-9` -> {0: 5, 2: 9}: the highest sequence number per GTID domain."""
    result: dict[int, int] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        domain, _server, seq = part.split("-")
        result[int(domain)] = max(result.get(int(domain), 0), int(seq))
    return result


class MariaDBDialect(Dialect):
    name = "mariadb"
    reports_snapshot_position = True
    clients = ("mariadb", "mysql")   # 11.x images no longer carry the `mysql` name

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
            f"MASTER_HOST={sql_string(spec.host)}",
            f"MASTER_PORT={int(spec.port)}",
            f"MASTER_USER={sql_string(spec.user)}",
            f"MASTER_PASSWORD={sql_string(spec.password)}",
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
        parts = [f"MASTER_HOST={sql_string(host)}", f"MASTER_PORT={int(port)}"]
        if log_file is not None and log_pos is not None:
            parts += [f"MASTER_LOG_FILE={sql_string(log_file)}", f"MASTER_LOG_POS={int(log_pos)}"]
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

    def source_progress(self, run: Run, use_gtid: bool) -> SourceProgress:
        if not use_gtid:
            return super().source_progress(run, use_gtid)
        row = run("SELECT @@global.gtid_binlog_pos AS pos", None)[0]
        return SourceProgress(domains=tuple(sorted(gtid_domains(row["pos"]).items())))

    def replica_reached(self, run: Run, status: LinkStatus, target: SourceProgress) -> bool:
        if not target.domains:
            return super().replica_reached(run, status, target)
        row = run("SELECT @@global.gtid_slave_pos AS s, @@global.gtid_binlog_pos AS b", None)[0]
        have = gtid_domains(row["s"])
        for domain, seq in gtid_domains(row["b"]).items():
            have[domain] = max(have.get(domain, 0), seq)
        return all(have.get(domain, 0) >= seq for domain, seq in target.domains)

    # --- semi-synchronous replication (built in since 10.3) ---------------------------------------
    def semi_sync_options(self, source: SemiSyncSettings | None, replica: bool) -> list[str]:
        options = []
        if source is not None:
            options += ["--rpl-semi-sync-master-enabled=ON", f"--rpl-semi-sync-master-wait-point={source.wait_point}",
                        f"--rpl-semi-sync-master-timeout={source.timeout_ms}"]
        if replica:
            options.append("--rpl-semi-sync-slave-enabled=ON")
        return options

    # --- Galera ------------------------------------------------------------------------------------
    def galera_options(self, settings: GaleraSettings) -> list[str]:
        """The first option must come first on the command line: it names the file that holds the cluster
        address, which the lab rewrites once the cluster has formed."""
        return [
            f"--defaults-extra-file={settings.address_file}",
            "--wsrep-on=ON",
            f"--wsrep-provider={GALERA_PROVIDER}",
            f"--wsrep-cluster-name={settings.cluster_name}",
            f"--wsrep-node-name={settings.node}",
            f"--wsrep-node-address={settings.node}",   # else a joiner may offer 127.0.0.1 for state transfer
            f"--wsrep-sst-method={settings.sst_method}",
            "--innodb-autoinc-lock-mode=2",
        ]

    def galera_address_file(self, nodes: list[str]) -> str:
        """The option file naming the cluster: `gcomm://` alone bootstraps a new one."""
        return f"[mysqld]\nwsrep_cluster_address=gcomm://{','.join(nodes)}\n"

    def galera_bootstrap(self) -> str:
        """Make this node's non-primary component the primary one (after every node lost quorum)."""
        return "SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'"

    def certification_errnos(self) -> frozenset[int]:
        return GALERA_ROLLBACK_ERRNOS

    def gtid_position(self, run: Run) -> str | None:
        return str(run("SELECT @@global.gtid_binlog_pos AS g", None)[0]["g"] or "") or None  # '' before any GTID

    def snapshot_position(self, run: Run) -> str:
        status = {r["Variable_name"].lower(): r["Value"] for r in run("SHOW STATUS LIKE 'binlog_snapshot_%'", None)}
        file, pos = status.get("binlog_snapshot_file"), status.get("binlog_snapshot_position")
        if not file:
            return ""
        gtid = run("SELECT BINLOG_GTID_POS(%s, %s) AS g", (file, int(pos)))[0]["g"]
        return gtid or f"{file}:{pos}"
