"""Per-run passwords: generated at `lab up`, kept in a 0600 state file, never printed or put in results."""

from __future__ import annotations

import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class Credentials:
    admin_user: str
    admin_password: str
    replication_user: str
    replication_password: str

    @classmethod
    def generate(cls) -> Credentials:
        return cls("lab", secrets.token_urlsafe(18), "repl", secrets.token_urlsafe(18))

    def __repr__(self) -> str:
        return f"Credentials(admin_user={self.admin_user!r}, replication_user={self.replication_user!r})"

    def init_sql(self, schema: str) -> str:
        """Statements every server runs at start (`--init-file`), kept out of the binary log."""
        return "\n".join([
            "SET sql_log_bin=0;",
            f"CREATE USER IF NOT EXISTS '{self.admin_user}'@'%' IDENTIFIED BY '{self.admin_password}';",
            f"GRANT ALL PRIVILEGES ON *.* TO '{self.admin_user}'@'%' WITH GRANT OPTION;",
            f"CREATE USER IF NOT EXISTS '{self.replication_user}'@'%' IDENTIFIED BY '{self.replication_password}';",
            f"GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '{self.replication_user}'@'%';",
            f"CREATE DATABASE IF NOT EXISTS `{schema}`;",
            "",
        ])
