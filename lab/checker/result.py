"""What a check returns: the diverged keys as pandas DataFrames, where each DC was read, and costs.

Values keep their Python types (object columns), so a BIGINT above 2**53 or a DECIMAL is never
rounded through float on its way to a report or a repair statement.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lab.checker.rows import Divergence

KINDS = ("values_differ", "missing", "extra")


def rows_frame(divergences: list[Divergence], key_columns: list[str], columns: list[str],
               dcs: list[str]) -> pd.DataFrame:
    """One row per diverged key: keys, kind, dcs, then per DC `dc.present` and `dc.<column>`."""
    names = [*key_columns, "kind", "dcs"]
    for dc in dcs:
        names += [f"{dc}.present", *(f"{dc}.{c}" for c in columns)]
    records = []
    for d in divergences:
        record: dict[str, Any] = dict(zip(key_columns, d.key, strict=True))
        record.update(kind=d.kind, dcs=",".join(d.dcs))
        for dc in dcs:
            row = d.rows.get(dc)
            record[f"{dc}.present"] = row is not None
            for c in columns:
                record[f"{dc}.{c}"] = None if row is None else row[c]
        records.append(record)
    frame = pd.DataFrame(records, columns=names, dtype=object)
    for dc in dcs:
        frame[f"{dc}.present"] = frame[f"{dc}.present"].astype(bool)
    return frame


def differences_frame(divergences: list[Divergence], key_columns: list[str], dcs: list[str]) -> pd.DataFrame:
    """Long form: one row per (diverged key, column): keys, column, kind, then one value column per DC.

    values_differ lists only the columns that differ; missing/extra list every non-key column,
    with None on the DCs where the row is absent. A key whose bytes differ in a way no column
    value shows (see rows.divergences) gets one row with column '*'.
    """
    names = [*key_columns, "column", "kind", *dcs]
    records = []
    for d in divergences:
        for column in d.columns or ("*",):
            record: dict[str, Any] = dict(zip(key_columns, d.key, strict=True))
            record.update(column=column, kind=d.kind)
            for dc in dcs:
                row = d.rows.get(dc)
                record[dc] = None if row is None or column == "*" else row[column]
            records.append(record)
    return pd.DataFrame(records, columns=names, dtype=object)


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
