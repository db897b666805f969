"""Python values (as PyMySQL returns them) back into SQL literals, for predicates and repair SQL.

Bytes become X'..' hex literals so binary data survives printing; everything else uses
PyMySQL's escaping (sessions that use these literals turn NO_BACKSLASH_ESCAPES off).
"""

from __future__ import annotations

from typing import Any

from pymysql.converters import escape_item


def literal(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "X'" + bytes(value).hex().upper() + "'"
    if isinstance(value, (set, frozenset)):  # SET columns, should a converter return them as sets
        return escape_item(",".join(sorted(value)), "utf8mb4")
    return escape_item(value, "utf8mb4")
