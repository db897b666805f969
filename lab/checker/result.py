"""What a check returns: the diverged keys as pandas DataFrames, where each DC was read, and costs.

Values keep their Python types (object columns), so a BIGINT above 2**53 or a DECIMAL is never
rounded through float on its way to a report or a repair statement.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import pandas as pd

from lab.checker.rows import Divergence, Row

KINDS = ("values_differ", "missing", "extra")


def _transpose(tuples: list[tuple], width: int) -> list[list]:
    """Columns of equal-length tuples, at C speed."""
    return [list(map(itemgetter(i), tuples)) for i in range(width)]


def _column_values(rows: list[Mapping[str, Any] | None], columns: list[str]) -> list[list]:
    """Per column, the values of `rows` (None where a row is absent)."""
    absent = (None,) * len(columns)
    return _transpose([absent if row is None else row.select(columns) if isinstance(row, Row)
                       else tuple(row[c] for c in columns) for row in rows], len(columns))


def _frame(data: dict[str, Sequence[Any]], names: list[str]) -> pd.DataFrame:
    """Object columns (values keep their Python types), except those already given as Series."""
    return pd.DataFrame({name: data[name] if isinstance(data[name], pd.Series) else pd.Series(data[name], dtype=object)
                         for name in names}, columns=names)


def rows_frame(divergences: list[Divergence], key_columns: list[str], columns: list[str],
               dcs: list[str]) -> pd.DataFrame:
    """One row per diverged key: keys, kind, dcs, then per DC `dc.present` and `dc.<column>`.

    Built column by column: a record per key would briefly hold a dict per key, more memory than the
    result itself for a check with 100,000 diverged keys."""
    data: dict[str, Sequence[Any]] = dict(zip(key_columns, _transpose([d.key for d in divergences], len(key_columns)),
                                              strict=True))
    joined: dict[tuple[str, ...], str] = {}
    data["kind"] = [d.kind for d in divergences]
    data["dcs"] = [joined.setdefault(d.dcs, ",".join(d.dcs)) for d in divergences]
    names = [*key_columns, "kind", "dcs"]
    for dc in dcs:
        rows = [d.rows.get(dc) for d in divergences]
        data[f"{dc}.present"] = pd.Series([row is not None for row in rows], dtype=bool)
        data.update(zip((f"{dc}.{c}" for c in columns), _column_values(rows, columns), strict=True))
        names += [f"{dc}.present", *(f"{dc}.{c}" for c in columns)]
    return _frame(data, names)


def differences_frame(divergences: list[Divergence], key_columns: list[str], dcs: list[str]) -> pd.DataFrame:
    """Long form: one row per (diverged key, column): keys, column, kind, then one value column per DC.

    values_differ lists only the columns that differ; missing/extra list every non-key column,
    with None on the DCs where the row is absent. A key whose bytes differ in a way no column
    value shows (see rows.divergences) gets one row with column '*'.
    """
    keys: list[tuple] = []
    column: list[str] = []
    kind: list[str] = []
    values: dict[str, list[Any]] = {dc: [] for dc in dcs}
    for d in divergences:
        named = d.columns or ("*",)
        keys += [d.key] * len(named)
        column += named
        kind += [d.kind] * len(named)
        for dc in dcs:
            row = d.rows.get(dc)
            values[dc] += [None] * len(named) if row is None or not d.columns else [row[c] for c in named]
    data: dict[str, Sequence[Any]] = dict(zip(key_columns, _transpose(keys, len(key_columns)), strict=True))
    data.update(column=column, kind=kind, **values)
    return _frame(data, [*key_columns, "column", "kind", *dcs])


@dataclass
class CheckResult:
    """The outcome of `compare_table`. `rows` and `differences` are built once, from `divergences`."""

    table: str
    dcs: list[str]
    key_columns: list[str]
    columns: list[str]
    divergences: list[Divergence]
    read_at: dict[str, str]
    stats: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)   # dc -> schema.table read there
    rows: pd.DataFrame = field(init=False, repr=False)
    differences: pd.DataFrame = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rows = rows_frame(self.divergences, self.key_columns, self.columns, self.dcs)
        self.differences = differences_frame(self.divergences, self.key_columns, self.dcs)

    @property
    def in_sync(self) -> bool:
        return not self.divergences

    @property
    def keys(self) -> set[tuple]:
        """The diverged primary keys, as tuples of Python values."""
        return {d.key for d in self.divergences}

    def counts(self) -> dict[str, int]:
        found = Counter(d.kind for d in self.divergences)
        return {kind: found.get(kind, 0) for kind in KINDS}

    def summary(self) -> str:
        read = ", ".join(f"{dc} at {pos or '?'}" for dc, pos in self.read_at.items())
        if self.in_sync:
            verdict = "in sync"
        else:
            detail = ", ".join(f"{n} {kind}" for kind, n in self.counts().items() if n)
            verdict = f"{len(self.divergences)} diverged key(s): {detail}"
        seconds = self.stats.get("seconds")
        took = f" in {seconds:.2f}s" if isinstance(seconds, (int, float)) else ""
        return f"{self.table} across {', '.join(self.dcs)}: {verdict}{took} (read {read})"
