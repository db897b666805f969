"""The diverged keys of one check, held column by column, and the per-key view callers read.

A check may find hundreds of thousands of diverged keys. An object per key (a `Divergence`, its
dict of rows, a `Row` per DC and a key tuple) cost about 500 bytes a key beyond the values
themselves, so `Divergences` keeps verdicts and value tuples in parallel lists and makes a
`Divergence` only when one is asked for. The frames are built from the lists directly (`result`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter, le
from typing import Any, Literal, overload

DiffKind = Literal["values_differ", "missing", "extra"]
Values = tuple  # one row's values, in the table's column order


class Row(Mapping[str, Any]):
    """One row as a read-only mapping from column name to value (a tuple and a shared index)."""

    __slots__ = ("_index", "values")

    def __init__(self, index: Mapping[str, int], values: Values) -> None:
        self._index = index
        self.values = values

    def __getitem__(self, column: str) -> Any:
        return self.values[self._index[column]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return repr(dict(self))

    def select(self, columns: Sequence[str]) -> Values:
        """The values of `columns`, in that order (the stored tuple itself when it is all of them)."""
        if tuple(columns) == tuple(self._index):
            return self.values
        return tuple(self[c] for c in columns)


def row_index(columns: Sequence[str]) -> dict[str, int]:
    return {name: i for i, name in enumerate(columns)}


@dataclass(frozen=True, slots=True)
class Divergence:
    """One diverged primary key: its rows on every DC (None where absent) and how it differs."""

    key_text: str
    key: tuple
    kind: DiffKind
    dcs: tuple[str, ...]                        # DCs concerned (see `rows.classify`)
    rows: Mapping[str, Mapping[str, Any] | None]   # dc -> row (column -> value)
    columns: tuple[str, ...]        # value columns that differ somewhere (all of them for missing/extra)


class Divergences(Sequence[Divergence]):
    """Every diverged key of one table, in parallel lists: `values[dc][i]` is key i's row on `dc` as a
    tuple in `columns` order, or None where the DC lacks it. Keys are not stored: they are the key
    columns of whichever row is present. Indexing and iteration give `Divergence`s."""

    def __init__(self, dcs: Sequence[str], columns: Sequence[str], key_columns: Sequence[str]) -> None:
        self.dcs = tuple(dcs)
        self.columns = tuple(columns)
        self.key_columns = tuple(key_columns)
        self.index = row_index(columns)
        self.key_positions = tuple(self.index[name] for name in key_columns)
        self.key_texts: list[str] = []
        self.kinds: list[DiffKind] = []
        self.concerned: list[tuple[str, ...]] = []    # Divergence.dcs
        self.differing: list[tuple[str, ...]] = []    # Divergence.columns
        self.values: dict[str, list[Values | None]] = {dc: [] for dc in self.dcs}
        self._interned: dict[tuple[str, ...], tuple[str, ...]] = {}   # few distinct name tuples, one object each

    @classmethod
    def of(cls, dcs: Sequence[str], columns: Sequence[str], key_columns: Sequence[str],
           divergences: Iterable[Divergence]) -> Divergences:
        """From `Divergence`s whose rows are any mappings of column name to value (tests, callers' own)."""
        found = cls(dcs, columns, key_columns)
        for d in divergences:
            rows = {dc: d.rows.get(dc) for dc in found.dcs}
            found.add(d.key_text, d.kind, d.dcs, d.columns,
                      {dc: None if row is None else row.select(columns) if isinstance(row, Row)
                       else tuple(row[c] for c in columns) for dc, row in rows.items()})
        return found

    def add(self, key_text: str, kind: DiffKind, concerned: tuple[str, ...], differing: tuple[str, ...],
            values: Mapping[str, Values | None]) -> None:
        """One diverged key: its rows per DC (at least one present), the DCs concerned and the differing columns."""
        interned = self._interned
        self.key_texts.append(key_text)
        self.kinds.append(kind)
        self.concerned.append(interned.setdefault(concerned, concerned))
        self.differing.append(interned.setdefault(differing, differing))
        for dc in self.dcs:
            self.values[dc].append(values[dc])

    def present_rows(self) -> list[Values]:
        """Per key, its row on the first DC that holds it."""
        rows = list(self.values[self.dcs[0]])
        for dc in self.dcs[1:]:
            if None not in rows:
                break
            rows = [mine if mine is not None else theirs for mine, theirs in zip(rows, self.values[dc], strict=True)]
        return rows

    def key_values(self) -> list[list]:
        """Per key column, its value for every key (the frames' key columns)."""
        rows = self.present_rows()
        return [list(map(itemgetter(p), rows)) for p in self.key_positions]

    @property
    def keys(self) -> list[tuple]:
        """The primary keys, as tuples of Python values, made when asked for."""
        return list(zip(*self.key_values(), strict=True))

    def in_key_order(self) -> Divergences:
        """The same divergences sorted by primary key (by key text for keys Python cannot order); itself when
        they already are, as a check's are when their keys were fetched in key order (`sqlgen.in_key_order`):
        a copy of every list costs about 9 MB per 100,000 keys."""
        keys = self.keys
        try:
            if all(map(le, keys, islice(keys, 1, None))):
                return self
            order = sorted(range(len(self)), key=keys.__getitem__)
        except TypeError:  # keys Python cannot order (should not happen for one table)
            order = sorted(range(len(self)), key=self.key_texts.__getitem__)
        del keys
        ordered = Divergences(self.dcs, self.columns, self.key_columns)
        ordered._interned = self._interned
        for name in ("key_texts", "kinds", "concerned", "differing"):
            setattr(ordered, name, [getattr(self, name)[i] for i in order])
        ordered.values = {dc: [column[i] for i in order] for dc, column in self.values.items()}
        return ordered

    def __len__(self) -> int:
        return len(self.kinds)

    @overload
    def __getitem__(self, i: int) -> Divergence: ...

    @overload
    def __getitem__(self, i: slice) -> list[Divergence]: ...

    def __getitem__(self, i: int | slice) -> Divergence | list[Divergence]:
        if isinstance(i, slice):
            return [self[n] for n in range(*i.indices(len(self)))]
        rows = {dc: None if (values := self.values[dc][i]) is None else Row(self.index, values) for dc in self.dcs}
        present = next(row for row in rows.values() if row is not None)
        key = tuple(present.values[p] for p in self.key_positions)
        return Divergence(self.key_texts[i], key, self.kinds[i], self.concerned[i], rows, self.differing[i])

    def __iter__(self) -> Iterator[Divergence]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return f"Divergences({len(self)} keys across {', '.join(self.dcs)})"
