"""Server-family dialects: every difference between MySQL and MariaDB lives in this package.

The rest of the lab asks a `Dialect` for SQL, for normalised status and for progress; it never
tests which class it holds. A dialect is always chosen from what the server itself reports
(`detect`), never from an image name.
"""

from __future__ import annotations

from lab.db.dialects.base import (
    BinlogPosition,
    Dialect,
    GaleraSettings,
    GroupSettings,
    LinkStatus,
    Run,
    SemiSyncSettings,
    SourceProgress,
    SourceSpec,
    parse_version,
)
from lab.db.dialects.mariadb import MariaDBDialect
from lab.db.dialects.mysql import MySQLDialect

FAMILIES: dict[str, type[Dialect]] = {"mysql": MySQLDialect, "mariadb": MariaDBDialect}


def detect(version: str, version_comment: str) -> Dialect:
    """Choose the dialect from what the server reports: `SELECT VERSION(), @@version_comment`."""
    family = "mariadb" if "mariadb" in f"{version} {version_comment}".lower() else "mysql"
    return FAMILIES[family](parse_version(version))


__all__ = ["FAMILIES", "BinlogPosition", "Dialect", "GaleraSettings", "GroupSettings", "LinkStatus", "MariaDBDialect",
           "MySQLDialect", "Run", "SemiSyncSettings", "SourceProgress", "SourceSpec", "detect", "parse_version"]
