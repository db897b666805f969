"""MySQL's spelling of replication: SOURCE/REPLICA from 8.0.23 (MASTER/SLAVE before), GTID sets, auto-position."""

from __future__ import annotations

from typing import Any

from lab.db.dialects.base import (
    Dialect,
    GroupSettings,
    LinkStatus,
    Run,
    SemiSyncSettings,
    SourceProgress,
    SourceSpec,
    sql_string,
)

# A write rolled back at commit by Group Replication: 3101 when it fails certification itself, 1180 (handler
# error 149, "Lock deadlock") when a remote transaction that certified first was applied over it.
GROUP_ROLLBACK_ERRNOS = frozenset({3101, 1180})


def own_gtids(gtid_executed: str, server_uuid: str) -> str:
    """The part of a GTID set that this server originated (what it binlogs without log_replica_updates)."""
    keep = [part for part in gtid_executed.replace("\n", "").split(",") if part.strip().startswith(server_uuid)]
    return ",".join(keep)


class MySQLDialect(Dialect):
    name = "mysql"

    @property
    def modern(self) -> bool:
        """8.0.23+ spells replication with SOURCE/REPLICA; 8.4+ only accepts that."""
        return self.version >= (8, 0, 23)

    @property
    def _renamed(self) -> bool:
        """8.0.26+ renamed the slave_* variables to replica_*."""
        return self.version >= (8, 0, 26)

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
            f"--log-replica-updates={onoff}" if self._renamed else f"--log-slave-updates={onoff}",
        ]
        if self.version >= (8, 0, 30):
            options.append("--innodb-redo-log-capacity=16M")
        return options

    def _replica_word(self) -> str:
        return "REPLICA" if self.modern else "SLAVE"

    @property
    def _change(self) -> tuple[str, str]:
        """(the CHANGE statement, the option prefix)."""
        return ("CHANGE REPLICATION SOURCE TO", "SOURCE") if self.modern else ("CHANGE MASTER TO", "MASTER")

    def change_source(self, spec: SourceSpec) -> str:
        verb, m = self._change
        parts = [
            f"{m}_HOST={sql_string(spec.host)}",
            f"{m}_PORT={int(spec.port)}",
            f"{m}_USER={sql_string(spec.user)}",
            f"{m}_PASSWORD={sql_string(spec.password)}",
            f"{m}_CONNECT_RETRY={int(spec.connect_retry)}",
            f"{m}_RETRY_COUNT={int(spec.retry_count)}",
            f"{m}_DELAY={int(spec.delay_seconds)}",
            f"{m}_HEARTBEAT_PERIOD={spec.heartbeat_period}",
            # caching_sha2_password over a non-TLS link needs the source's RSA key.
            f"GET_{m}_PUBLIC_KEY=1",
            f"{m}_AUTO_POSITION={1 if spec.use_gtid else 0}",
        ]
        return f"{verb} " + ", ".join(parts)

    def set_delay(self, seconds: int) -> str:
        verb, m = self._change
        return f"{verb} {m}_DELAY={int(seconds)}"

    def set_parallel_workers(self, workers: int) -> str:
        variable = "replica_parallel_workers" if self._renamed else "slave_parallel_workers"
        return f"SET GLOBAL {variable}={int(workers)}"

    def change_source_address(self, host: str, port: int, log_file: str | None = None,
                              log_pos: int | None = None) -> str:
        verb, m = self._change
        parts = [f"{m}_HOST={sql_string(host)}", f"{m}_PORT={int(port)}"]
        if log_file is not None and log_pos is not None:
            parts += [f"{m}_LOG_FILE={sql_string(log_file)}", f"{m}_LOG_POS={int(log_pos)}"]
        return f"{verb} " + ", ".join(parts)

    def source_address(self, status: LinkStatus) -> tuple[str, int]:
        row = status.raw
        return (row.get("Source_Host") or row.get("Master_Host") or "",
                int(row.get("Source_Port") or row.get("Master_Port") or 0))

    def exec_mode_variable(self) -> str:
        return "replica_exec_mode" if self._renamed else "slave_exec_mode"

    def skip_counter(self, count: int = 1) -> str:
        variable = "sql_replica_skip_counter" if self._renamed else "sql_slave_skip_counter"
        return f"SET GLOBAL {variable}={int(count)}"

    def skips_with_empty_transaction(self, use_gtid: bool) -> bool:
        return use_gtid  # GTID auto-position refuses the skip counter

    def net_timeout_variable(self) -> str:
        return "replica_net_timeout" if self._renamed else "slave_net_timeout"

    def binlog_status(self) -> str:
        return "SHOW BINARY LOG STATUS" if self.version >= (8, 2, 0) else "SHOW MASTER STATUS"

    def reset_binary_logs(self) -> list[str]:
        return ["RESET BINARY LOGS AND GTIDS"] if self.version >= (8, 4, 0) else ["RESET MASTER"]

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

    def source_progress(self, run: Run, use_gtid: bool) -> SourceProgress:
        if not use_gtid:
            return super().source_progress(run, use_gtid)
        variable = "log_replica_updates" if self._renamed else "log_slave_updates"
        row = run(f"SELECT @@global.gtid_executed AS g, @@server_uuid AS u, @@global.{variable} AS lru", None)[0]
        executed = row["g"].replace("\n", "")
        return SourceProgress(gtid_set=executed if int(row["lru"]) else own_gtids(executed, row["u"]))

    def replica_reached(self, run: Run, status: LinkStatus, target: SourceProgress) -> bool:
        if target.gtid_set is None:
            return super().replica_reached(run, status, target)
        if not target.gtid_set:
            return True
        row = run("SELECT GTID_SUBSET(%s, @@global.gtid_executed) AS ok", (target.gtid_set,))
        return bool(int(row[0]["ok"]))

    def explain(self, sql: str) -> str:
        return f"EXPLAIN FORMAT=TRADITIONAL {sql}"  # 8.0.32+ would default to TREE, which has no `rows`

    def gtid_position(self, run: Run) -> str | None:
        row = run("SELECT @@global.gtid_mode AS m, @@global.gtid_executed AS g", None)[0]
        return str(row["g"]).replace("\n", "") if str(row["m"]).upper() == "ON" else None

    # --- semi-synchronous replication (a plugin pair; renamed source/replica in 8.0.26) ---------------
    def semi_sync_options(self, source: SemiSyncSettings | None, replica: bool) -> list[str]:
        new = self._renamed
        options = []
        if source is not None:
            side = "source" if new else "master"
            options += [f"--plugin-load-add=semisync_{side}.so", f"--rpl-semi-sync-{side}-enabled=ON",
                        f"--rpl-semi-sync-{side}-wait-point={source.wait_point}",
                        f"--rpl-semi-sync-{side}-timeout={source.timeout_ms}"]
        if replica:
            side = "replica" if new else "slave"
            options += [f"--plugin-load-add=semisync_{side}.so", f"--rpl-semi-sync-{side}-enabled=ON"]
        return options

    # --- Group Replication ------------------------------------------------------------------------
    def group_options(self, settings: GroupSettings) -> list[str]:
        onoff = {True: "ON", False: "OFF"}
        return [
            "--plugin-load-add=group_replication.so",
            f"--group-replication-group-name={settings.group_name}",
            f"--group-replication-local-address={settings.local_address}",
            f"--group-replication-group-seeds={','.join(settings.seeds)}",
            f"--group-replication-single-primary-mode={onoff[settings.single_primary]}",
            f"--group-replication-enforce-update-everywhere-checks={onoff[settings.enforce_update_everywhere_checks]}",
            "--group-replication-start-on-boot=OFF",   # the lab starts (and after a crash, rejoins) each member
            "--group-replication-recovery-get-public-key=ON",
        ]

    def group_recovery_statements(self, user: str, password: str) -> list[str]:
        """Run once per member with sql_log_bin=0: the distributed-recovery channel's login and its grants."""
        verb, m = self._change
        grants = "REPLICATION SLAVE, BACKUP_ADMIN" + (", GROUP_REPLICATION_STREAM" if self.version >= (8, 0, 27)
                                                      else "")
        return [f"GRANT {grants} ON *.* TO {sql_string(user)}@'%'",
                f"{verb} {m}_USER={sql_string(user)}, {m}_PASSWORD={sql_string(password)} "
                "FOR CHANNEL 'group_replication_recovery'"]

    def group_start(self, bootstrap: bool) -> list[str]:
        if not bootstrap:
            return ["START GROUP_REPLICATION"]
        return ["SET GLOBAL group_replication_bootstrap_group=ON", "START GROUP_REPLICATION",
                "SET GLOBAL group_replication_bootstrap_group=OFF"]

    def group_stop(self) -> str:
        return "STOP GROUP_REPLICATION"

    def group_members(self) -> str:
        """Every member as this member sees the group: host, state (ONLINE, RECOVERING, UNREACHABLE, ERROR,
        OFFLINE), role; `self` marks this member's own row."""
        return ("SELECT MEMBER_HOST AS host, MEMBER_STATE AS state, MEMBER_ROLE AS role, "
                "MEMBER_ID = @@server_uuid AS self FROM performance_schema.replication_group_members")

    def group_queue(self) -> str:
        """Transactions this member received and has not applied yet."""
        return ("SELECT COALESCE(SUM(COUNT_TRANSACTIONS_REMOTE_IN_APPLIER_QUEUE), 0) AS queued "
                "FROM performance_schema.replication_group_member_stats WHERE MEMBER_ID = @@server_uuid")

    def certification_errnos(self) -> frozenset[int]:
        return GROUP_ROLLBACK_ERRNOS
