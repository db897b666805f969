"""What a check returns: the diverged keys as pandas DataFrames, where each DC was read, and costs.

Values keep their Python types (object columns), so a BIGINT above 2**53 or a DECIMAL is never
rounded through float on its way to a report or a repair statement.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from lab.checker.divergences import Divergences

KINDS = ("values_differ", "missing", "extra")


def _frame(length: int, names: list[str], columns: Iterable[Sequence[Any]],
           flags: Mapping[str, Sequence[bool]]) -> pd.DataFrame:
    """A frame of `names`: bool `flags`, and object columns (values keep their Python types): `columns`
    gives the values of every other name, in order.

    The object columns are copied one at a time into one 2D block, which pandas keeps as it is, so
    each column's list can go as soon as it is copied. Built from a dict of lists, pandas would hold
    every list, a Series of each and then the consolidated block, all at once: measured, about 30 MB
    more at the peak for 100,000 diverged keys."""
    objects = [name for name in names if name not in flags]
    block = np.empty((len(objects), length), dtype=object)
    for row, values in enumerate(columns):
        block[row, :] = values
    frame = pd.DataFrame(block.T, columns=objects, dtype=object, copy=False)   # no str inference
    for name, values in flags.items():
        frame.insert(names.index(name), name, np.fromiter(values, dtype=bool, count=length))
    return frame


def rows_frame(found: Divergences) -> pd.DataFrame:
    """One row per diverged key: keys, kind, dcs, then per DC `dc.present` and `dc.<column>`."""
    joined: dict[tuple[str, ...], str] = {}
    names = [*found.key_columns, "kind", "dcs"]
    flags: dict[str, list[bool]] = {}
    for dc in found.dcs:
        flags[f"{dc}.present"] = [row is not None for row in found.values[dc]]
        names += [f"{dc}.present", *(f"{dc}.{c}" for c in found.columns)]

    def columns() -> Iterator[Sequence[Any]]:   # in the order of `names`, flags left out
        yield from found.key_values()
        yield found.kinds
        yield [joined.setdefault(dcs, ",".join(dcs)) for dcs in found.concerned]
        absent = (None,) * len(found.columns)
        for dc in found.dcs:
            rows = [absent if row is None else row for row in found.values[dc]]
            for i in range(len(found.columns)):
                yield list(map(itemgetter(i), rows))

    return _frame(len(found), names, columns(), flags)


def differences_frame(found: Divergences) -> pd.DataFrame:
    """Long form: one row per (diverged key, column): keys, column, kind, then one value column per DC.

    values_differ lists only the columns that differ; missing/extra list every non-key column,
    with None on the DCs where the row is absent. A key whose bytes differ in a way no column
    value shows (see rows.divergences) gets one row with column '*'.
    """
    widths = [len(named) or 1 for named in found.differing]
    positions = {named: [found.index[c] for c in named] for named in set(found.differing)}

    def repeated(values: Sequence[Any]) -> list[Any]:
        out: list[Any] = []
        for value, width in zip(values, widths, strict=True):
            out += [value] * width
        return out

    def columns() -> Iterator[Sequence[Any]]:   # keys, column, kind, one per DC
        for values in found.key_values():
            yield repeated(values)
        column: list[str] = []
        for named in found.differing:
            column += named or ("*",)
        yield column
        yield repeated(found.kinds)
        for dc in found.dcs:
            values: list[Any] = []
            for row, named in zip(found.values[dc], found.differing, strict=True):
                if not named or row is None:
                    values += [None] * (len(named) or 1)
                else:
                    values += [row[p] for p in positions[named]]
            yield values

    return _frame(sum(widths), [*found.key_columns, "column", "kind", *found.dcs], columns(), {})


@dataclass
class CheckResult:
    """The outcome of `compare_table`. `rows` and `differences` are built once, from `divergences`."""

    table: str
    dcs: list[str]
    key_columns: list[str]
    columns: list[str]
    divergences: Divergences   # or any sequence of `Divergence`s, stored as `Divergences`
    read_at: dict[str, str]
    stats: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)   # dc -> schema.table read there
    rows: pd.DataFrame = field(init=False, repr=False)
    differences: pd.DataFrame = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.divergences, Divergences):
            self.divergences = Divergences.of(self.dcs, self.columns, self.key_columns, self.divergences)
        self.rows = rows_frame(self.divergences)
        self.differences = differences_frame(self.divergences)

    @property
    def in_sync(self) -> bool:
        return not self.divergences

    @property
    def keys(self) -> set[tuple]:
        """The diverged primary keys, as tuples of Python values."""
        return set(self.divergences.keys)

    def counts(self) -> dict[str, int]:
        found = Counter(self.divergences.kinds)
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
