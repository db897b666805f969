"""The SQL the faults ask the dialects for, per family and version."""

from __future__ import annotations

from lab.db.dialects import LinkStatus, MariaDBDialect, MySQLDialect


def status(raw: dict) -> LinkStatus:
    return LinkStatus("Yes", "Yes", 0, 0, "", 0, "", "", 0, "", 0, 0, "", "", raw=raw)


def test_repointing_keeps_coordinates_only_when_given() -> None:
    mysql, old, maria = MySQLDialect((9, 7, 4)), MySQLDialect((8, 0, 20)), MariaDBDialect((10, 11, 19))
    assert mysql.change_source_address("127.0.0.1", 4000) == \
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=4000"
    assert old.change_source_address("dc1", 3306, "binlog.000002", 157) == \
        "CHANGE MASTER TO MASTER_HOST='dc1', MASTER_PORT=3306, MASTER_LOG_FILE='binlog.000002', MASTER_LOG_POS=157"
    assert maria.change_source_address("dc1", 3306, "binlog.000001", 4).startswith("CHANGE MASTER TO MASTER_HOST='dc1'")


def test_source_address_reads_either_column_spelling() -> None:
    assert MySQLDialect((9, 7, 4)).source_address(status({"Source_Host": "dc1", "Source_Port": 3306})) == ("dc1", 3306)
    assert MySQLDialect((8, 0, 20)).source_address(status({"Master_Host": "dc2", "Master_Port": 3306})) == ("dc2", 3306)
    assert MariaDBDialect((10, 11, 19)).source_address(status({"Master_Host": "127.0.0.1", "Master_Port": 41000})) \
        == ("127.0.0.1", 41000)


def test_exec_mode_skip_counter_and_net_timeout_names() -> None:
    mysql, old, maria = MySQLDialect((9, 7, 4)), MySQLDialect((8, 0, 20)), MariaDBDialect((10, 11, 19))
    assert mysql.set_exec_mode("idempotent") == "SET GLOBAL replica_exec_mode='IDEMPOTENT'"
    assert old.set_exec_mode("STRICT") == "SET GLOBAL slave_exec_mode='STRICT'"
    assert maria.set_exec_mode("IDEMPOTENT") == "SET GLOBAL slave_exec_mode='IDEMPOTENT'"
    assert mysql.skip_counter() == "SET GLOBAL sql_replica_skip_counter=1"
    assert old.skip_counter(2) == "SET GLOBAL sql_slave_skip_counter=2"
    assert maria.skip_counter() == "SET GLOBAL sql_slave_skip_counter=1"
    assert mysql.set_net_timeout(2) == "SET GLOBAL replica_net_timeout=2"
    assert maria.set_net_timeout(2) == "SET GLOBAL slave_net_timeout=2"
