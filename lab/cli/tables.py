"""Plain-text tables for the terminal (ASCII, so CI logs and pipes stay readable)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

# Pipes and CI logs are not terminals; do not fold tables to 80 columns there.
_WIDTH = None if sys.stdout.isatty() else 220
console = Console(highlight=False, soft_wrap=False, width=_WIDTH)
errors = Console(stderr=True, highlight=False, soft_wrap=True)  # an error stays one line, however long


def render(rows: Iterable[Mapping[str, Any]], title: str | None = None, columns: list[str] | None = None) -> Table:
    rows = list(rows)
    names = columns or (list(rows[0].keys()) if rows else [])
    table = Table(title=title, box=box.ASCII, title_justify="left", show_lines=False)
    for name in names:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*("" if row.get(n) is None else str(row.get(n)) for n in names))
    return table


def show(rows: Iterable[Mapping[str, Any]], title: str | None = None, columns: list[str] | None = None) -> None:
    console.print(render(rows, title, columns))
