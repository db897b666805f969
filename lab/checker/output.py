"""Rendering a CheckResult for people and programs: terminal table, CSV, JSON.

Values are shown the way they would be written in SQL-ish text: bytes as 0x-hex (binary data
stays printable and exact), datetimes in ISO form, decimals unrounded.
"""

from __future__ import annotations

import datetime
import decimal
import json
from typing import Any

import pandas as pd

from lab.checker.result import CheckResult


def plain(value: Any) -> Any:
    """A JSON/CSV-friendly form of a value read from the server."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value else None  # NaN (pandas' missing) -> None
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else value.isoformat()
    if isinstance(value, datetime.timedelta):
        sign = "-" if value < datetime.timedelta(0) else ""
        seconds = abs(value)
        hours, rest = divmod(seconds.days * 86400 + seconds.seconds, 3600)
        minutes, secs = divmod(rest, 60)
        fraction = f".{seconds.microseconds:06d}" if seconds.microseconds else ""
        return f"{sign}{hours:02d}:{minutes:02d}:{secs:02d}{fraction}"
    if isinstance(value, (set, frozenset)):
        return ",".join(sorted(value))
    return str(value)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{column: plain(value) for column, value in row.items()} for row in frame.to_dict("records")]


def to_json(result: CheckResult) -> str:
    document = {
        "table": result.table,
        "in_sync": result.in_sync,
        "dcs": result.dcs,
        "key_columns": result.key_columns,
        "counts": result.counts(),
        "read_at": result.read_at,
        "stats": result.stats,
        "rows": records(result.rows),
        "differences": records(result.differences),
    }
    return json.dumps(document, indent=2, default=plain)


def to_csv(frame: pd.DataFrame) -> str:
    return pd.DataFrame(records(frame), columns=list(frame.columns), dtype=object).to_csv(index=False)


def table_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for lab.tables.show: NULL shown as NULL, so that it cannot be mistaken for ''."""
    shown = []
    for row in records(frame):
        shown.append({k: ("NULL" if v is None else repr(v) if isinstance(v, str) and k not in ("kind", "dcs",
                      "column") else v) for k, v in row.items()})
    return shown
