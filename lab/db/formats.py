"""Applying a cell's binlog format, and what the servers do with it: accept it, warn, refuse it, or reject writes.

The format is applied the way the cell says, never changed silently: as a server option when a lab
starts for the cell, with `SET GLOBAL binlog_format` on every server when a running lab is reset for it.
A server that will not start under the option is an outcome too (`refused to start`). A design that
does not support the format answers in its own way, and that answer is the outcome: Galera refuses
the setting, Group Replication accepts it and then rejects every write. On a design that certifies,
one write is tried after the setting so that a rejection is seen before the cell starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pymysql

from lab.db.server import Server

PROBE_TABLE = "binlog_format_probe"


def _error(exc: pymysql.err.MySQLError) -> str:
    code = exc.args[0] if exc.args else "?"
    message = exc.args[1] if len(exc.args) > 1 else str(exc)
    return f"{code}: {' '.join(str(message).split())}"


@dataclass
class FormatOutcome:
    """What the servers did with the requested format."""

    requested: str | None
    applied_as: str = "SET GLOBAL"                            # or "server option"
    refused_start: str = ""                                  # the server's own error line when it would not start
    refused: dict[str, str] = field(default_factory=dict)    # server -> "errno: message" of the SET
    warnings: dict[str, str] = field(default_factory=dict)   # server -> the SET's warnings
    rejected_write: str = ""                                 # "server: errno: message" of the probe write

    @property
    def verdict(self) -> str:
        if self.refused_start:
            return "refused to start"
        if self.refused:
            return "refused"
        if self.rejected_write:
            return "writes rejected"
        return "accepted with warnings" if self.warnings else "accepted"

    @property
    def runs(self) -> bool:
        """Whether a cell can run under the format it asked for."""
        return self.verdict in ("accepted", "accepted with warnings")

    def detail(self) -> str:
        """What the servers said, each message once with the servers that said it."""
        if self.refused_start:
            return self.refused_start
        said: dict[str, list[str]] = {}
        for name, text in sorted({**self.warnings, **self.refused}.items()):
            said.setdefault(text, []).append(name)
        parts = [f"{', '.join(names)}: {text}" for text, names in said.items()]
        if self.rejected_write:
            parts.append(f"write on {self.rejected_write}")
        return "; ".join(parts)

    def summary(self) -> str:
        """One line for cells.csv: the verdict and, where the server said something, what it said."""
        detail = self.detail()
        return f"{self.verdict} ({detail})" if detail else self.verdict


def start_refusal(message: str) -> str:
    """The line of a failed start that says why: the server's last [ERROR] line, else the message's first line."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    errors = [line for line in lines if "[ERROR]" in line and "Aborting" not in line]
    chosen = errors[-1] if errors else (lines[0] if lines else "no message")
    return chosen.split("[ERROR]", 1)[-1].strip()[:240]


def apply(server: Server, binlog_format: str, outcome: FormatOutcome) -> None:
    """SET GLOBAL binlog_format on one server; a refusal or a warning is noted, not raised."""
    with server.connect(database=None) as connection, connection.cursor() as cursor:
        try:
            cursor.execute(f"SET GLOBAL binlog_format={binlog_format.upper()}")
        except pymysql.err.MySQLError as exc:
            outcome.refused[server.name] = _error(exc)
            return
        cursor.execute("SHOW WARNINGS")
        warnings = [f"{row['Code']}: {' '.join(str(row['Message']).split())}" for row in cursor.fetchall()]
    if warnings:
        outcome.warnings[server.name] = "; ".join(warnings)


def probe_write(server: Server, outcome: FormatOutcome) -> None:
    """Write one row through the design (it replicates like any write), then drop the table again."""
    with server.connect() as connection, connection.cursor() as cursor:
        try:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {PROBE_TABLE} (id INT PRIMARY KEY)")
            cursor.execute(f"INSERT INTO {PROBE_TABLE} VALUES (1)")
        except pymysql.err.MySQLError as exc:
            outcome.rejected_write = f"{server.name}: {_error(exc)}"
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {PROBE_TABLE}")
