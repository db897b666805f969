"""Per-link replication status rows, shared by `lab status`, `lab up` and experiment snapshots."""

from __future__ import annotations

from typing import Any

from lab.db.dialects import LinkStatus
from lab.db.lab import Lab
from lab.db.topology import LinkSpec


def _trim(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def link_rows(lab: Lab, full: bool = False,
              statuses: list[tuple[LinkSpec, LinkStatus | None]] | None = None) -> list[dict[str, Any]]:
    """Rows for the link table; pass `statuses` when the caller already read them, to avoid a second query."""
    rows = []
    for link, status in statuses if statuses is not None else lab.link_statuses():
        replica = lab.servers[link.replica]
        if status is None:
            rows.append({"link": f"{link.source} -> {link.replica}", "io": "-", "sql": "-", "lag_s": None,
                         "last_error": "not configured", "position": ""})
            continue
        error = ""
        if status.last_sql_errno:
            error = f"SQL {status.last_sql_errno}: {status.last_sql_error}"
        elif status.last_io_errno:
            error = f"IO {status.last_io_errno}: {status.last_io_error}"
        position = status.executed_gtids or (
            f"gtid_io_pos {status.retrieved_gtids}" if status.retrieved_gtids else
            f"{status.exec_source_log_file}:{status.exec_source_log_pos}")
        rows.append({
            "link": f"{link.source} -> {link.replica}",
            "flavor": replica.dialect.label,
            "io": status.io_running,
            "sql": status.sql_running,
            "lag_s": status.seconds_behind,
            "delay_s": status.sql_delay,
            "last_sql_errno": status.last_sql_errno,
            "last_io_errno": status.last_io_errno,
            "last_error": error if full else _trim(error),
            "position": position if full else _trim(position, 50),
        })
    return rows


def server_rows(lab: Lab) -> list[dict[str, Any]]:
    rows = []
    for server in lab.servers.values():
        spec = server.spec
        variables = server.query("SELECT @@global.binlog_format AS f, @@server_id AS id")[0]
        rows.append({
            "server": server.name, "dc": server.dc, "role": server.role, "flavor": server.dialect.label,
            "server_id": variables["id"], "binlog_format": variables["f"],
            "gtid": spec.gtid if spec else "", "endpoint": f"127.0.0.1:{server.endpoint.port}",
        })
    return rows
