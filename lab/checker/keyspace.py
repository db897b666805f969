"""Where chunks are cut: on integer keys by arithmetic, on any other key by walking the index.

- `IndexSpace` (any primary key): a cut is the key N rows further on, read from a DC's primary
  key with ORDER BY ... LIMIT 1 OFFSET N (an index walk, as pt-table-checksum nibbles).
- `IntegerSpace` (single-column integer key): a cut is `lower + rows / density`, with the density
  (rows per key unit) first probed on the index, then re-measured after every chunk; no index
  walk serialises in front of the parallel hash queries. Gaps only cost a few empty chunks (the
  walk grows chunks that come back empty); a jump to a much denser key region is caught by the
  optimizer's row estimate (EXPLAIN, ~1 ms), which shrinks the chunk before it runs.
Both cover the whole key space: the first range is open below, the last open above.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Protocol

from lab.checker import sqlgen
from lab.checker.planner import split_step
from lab.checker.schema import Kind, TableRef, TableSchema, quote
from lab.checker.session import DCPool
from lab.checker.sqlgen import KeyRange


class KeySpace(Protocol):
    cheap_split: bool   # split() costs no query, so a chunk can be hashed in many sub-ranges at once

    def next_cut(self, lower: tuple | None, rows: int) -> tuple | None: ...

    def split(self, key_range: KeyRange, counts: dict[str, int], parts: int) -> list[KeyRange]: ...

    def observe(self, key_range: KeyRange, rows: int) -> None: ...

    def rows_in(self, key_range: KeyRange) -> int | None: ...


def _ranges(key_range: KeyRange, cuts: list[tuple]) -> list[KeyRange]:
    edges = [key_range.lo, *cuts, key_range.hi]
    return [KeyRange(lo, hi) for lo, hi in pairwise(edges)]


class IndexSpace:
    cheap_split = False   # each cut is an index walk

    def __init__(self, pool: DCPool, schema: TableSchema, refs: dict[str, TableRef]) -> None:
        self.pool, self.schema, self.refs = pool, schema, refs
        self.queries = 0

    def _boundary(self, dc: str, key_range: KeyRange, offset: int) -> tuple | None:
        self.queries += 1
        rows = self.pool.sessions[dc].run(sqlgen.boundary_sql(self.schema, self.refs[dc], key_range, offset))
        return tuple(rows[0][n] for n in self.schema.key_names) if rows else None

    def next_cut(self, lower: tuple | None, rows: int) -> tuple | None:
        """`rows` rows on from `lower` on the reference DC, else on the first DC that has that many."""
        key_range = KeyRange(lower, None)
        for dc in self.pool.sessions:
            cut = self._boundary(dc, key_range, rows)
            if cut is not None:
                return cut
        return None

    def split(self, key_range: KeyRange, counts: dict[str, int], parts: int) -> list[KeyRange]:
        """Up to `parts` sub-ranges of equal row count on the DC holding the most rows in the range."""
        dc = max(counts, key=lambda d: counts[d])
        step = split_step(counts[dc], parts)
        cuts: list[tuple] = []
        for _ in range(parts - 1):
            cut = self._boundary(dc, KeyRange(cuts[-1] if cuts else key_range.lo, key_range.hi), step)
            if cut is None:
                break
            cuts.append(cut)
        return _ranges(key_range, cuts)

    def observe(self, key_range: KeyRange, rows: int) -> None:
        return None

    def rows_in(self, key_range: KeyRange) -> int | None:
        return None


Estimator = Callable[[KeyRange], int | None]
OVERSHOOT = 4      # InnoDB's range estimates are often 2x off; only act on a clear overshoot


class IntegerSpace:
    cheap_split = True    # cuts are arithmetic

    def __init__(self, low: int | None, high: int | None, density: float, growth: float,
                 estimate: Estimator | None = None) -> None:
        self.low, self.high = low, high
        self.growth = growth
        self.density = density
        self.estimate = estimate
        self.shrunk = 0

    @classmethod
    def open(cls, pool: DCPool, schema: TableSchema, refs: dict[str, TableRef], probe_rows: int,
             growth: float, within: KeyRange | None = None) -> IntegerSpace:
        """Key bounds over every DC (index ends, cheap), cut to `within` (a lane's part of the key space), and
        the density of the reference's first rows there."""
        low, high = integer_bounds(pool, schema, refs)
        if within is not None and low is not None and high is not None:
            low = low if within.lo is None else max(low, within.lo[0])
            high = high if within.hi is None else min(high, within.hi[0] - 1)
        reference = pool.sessions[pool.reference]
        density = 1.0
        if low is not None:
            probe = reference.run(sqlgen.boundary_sql(schema, refs[pool.reference], KeyRange((low,), None), probe_rows))
            if probe:
                density = probe_rows / max(1, int(probe[0][schema.key_names[0]]) - low)

        def estimate(key_range: KeyRange) -> int | None:
            rows = reference.run(reference.dialect.explain(sqlgen.count_sql(schema, refs[pool.reference], key_range)))
            values = [int(r["rows"]) for r in rows if r.get("rows") is not None]
            return max(values) if values else None

        return cls(low, high, density, growth, estimate)

    def _span(self, key_range: KeyRange) -> tuple[int, int] | None:
        if self.low is None or self.high is None:
            return None
        start = self.low if key_range.lo is None else key_range.lo[0]
        end = self.high + 1 if key_range.hi is None else key_range.hi[0]
        return start, end

    def next_cut(self, lower: tuple | None, rows: int) -> tuple | None:
        if self.low is None or self.high is None:
            return None
        start = self.low if lower is None else lower[0]
        span = max(1, round(rows / self.density))
        for _ in range(4):
            if start + span > self.high or self.estimate is None or span == 1:
                break
            expected = self.estimate(KeyRange(lower, (start + span,)))
            if expected is None or expected <= OVERSHOOT * rows:
                break
            span = max(1, span * rows // expected)
            self.shrunk += 1
        return None if start + span > self.high else (start + span,)

    def split(self, key_range: KeyRange, counts: dict[str, int], parts: int) -> list[KeyRange]:
        span = self._span(key_range)
        if span is None or span[1] - span[0] < 2:
            return [key_range]
        start, end = span
        step = split_step(end - start, parts)
        cuts = [(value,) for value in range(start + step, end, step)]
        return _ranges(key_range, cuts)

    def rows_in(self, key_range: KeyRange) -> int | None:
        """Rows the range should hold at the density measured so far (the last chunk is often short)."""
        span = self._span(key_range)
        return None if span is None else max(0, round((span[1] - span[0]) * self.density))

    def observe(self, key_range: KeyRange, rows: int) -> None:
        span = self._span(key_range)
        if span is None or span[1] <= span[0]:
            return
        if rows > 0:
            self.density = rows / (span[1] - span[0])
        else:
            self.density /= self.growth


def integer_bounds(pool: DCPool, schema: TableSchema, refs: dict[str, TableRef]) -> tuple[int | None, int | None]:
    """The lowest and highest key over every DC, from the ends of the primary key (None: every DC is empty)."""
    name = quote(schema.key_names[0])
    bounds = pool.run_each(lambda s: f"SELECT MIN({name}) AS lo, MAX({name}) AS hi FROM {refs[s.dc].sql}")
    lows = [int(r[0]["lo"]) for r in bounds.values() if r[0]["lo"] is not None]
    highs = [int(r[0]["hi"]) for r in bounds.values() if r[0]["hi"] is not None]
    return min(lows, default=None), max(highs, default=None)


def splits_cheaply(schema: TableSchema) -> bool:
    """Is the key space cut by arithmetic (`IntegerSpace`), with no query per cut?"""
    return len(schema.key) == 1 and schema.key[0].kind is Kind.INTEGER


def lane_bounds(pool: DCPool, schema: TableSchema, refs: dict[str, TableRef], wanted: int) -> list[KeyRange]:
    """The key space cut into up to `wanted` ranges of equal key span, one per lane; one range covering
    everything when the keys are not integers (each cut would be an index walk) or are too few.
    The first range is open below and the last open above, so keys written later are not missed."""
    if wanted < 2 or not splits_cheaply(schema):
        return [KeyRange()]
    return split_span(*integer_bounds(pool, schema, refs), wanted)


def split_span(low: int | None, high: int | None, wanted: int) -> list[KeyRange]:
    """Keys low..high in `wanted` ranges of equal span, open at both outer ends (one range if too few keys)."""
    if low is None or high is None or wanted < 2 or high - low + 1 < 2 * wanted:
        return [KeyRange()]
    cuts = [(low + (high - low + 1) * i // wanted,) for i in range(1, wanted)]
    return _ranges(KeyRange(), cuts)


def for_table(pool: DCPool, schema: TableSchema, refs: dict[str, TableRef], probe_rows: int,
              growth: float, within: KeyRange | None = None) -> KeySpace:
    if splits_cheaply(schema):
        return IntegerSpace.open(pool, schema, refs, probe_rows, growth, within)
    if within is not None and within != KeyRange():
        raise ValueError("only integer keys are walked in lanes")
    return IndexSpace(pool, schema, refs)
