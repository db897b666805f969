"""How rows are named and ordered across DCs and in the history: (table, key text)."""

from __future__ import annotations

RowKey = tuple[str, str]   # (table, key text), the key text as lab.client.key_text writes it


def row_order(row: RowKey) -> tuple[str, int, str]:
    """Rows in table order, then numeric keys by value (2 before 10), then text keys."""
    table, key = row
    return (table, int(key) if key.isdigit() else -1, key)
