"""The walk over the primary key: chunk, hash in parallel, bisect what differs, list the leaves.

    top level   chunks sized by time (planner.ChunkSizer), cut by keyspace (arithmetic on integer
                keys, an index walk otherwise), covering the whole key space
    hash-first  COUNT + SUM(64-bit SHA2) per chunk on every DC in parallel; equal -> done. On integer
                keys a chunk is summed in sub-ranges of ~`sub_rows` rows in the same scan (one UNION ALL
                query), so a difference costs a rescan of its sub-range, not of the whole chunk
    bisect      a differing range is split into `fanout` sub-ranges; only differing sub-ranges are
                descended into; when most sub-ranges differ (dense divergence) they are listed
                right away instead of being split further
    leaves      ranges of at most `leaf_rows` rows are listed as key:hash per row (a GROUP_CONCAT
                per range; the differing ranges of one level together, in one UNION ALL query per
                DC, so a difference costs its rows, not a round trip) and compared (digests.py):
                the exact set of differing keys
    digest-first when divergence is dense, top-level chunks are listed directly (planner.ModeChooser)

Comparing the digest lists is Python work; it runs on a helper thread while the servers already
work on the next chunk, and the hash-vs-list decision uses the last chunk whose lists are compared.
Whole rows are fetched afterwards, only for the differing keys (rows.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from lab.checker import digests, keyspace, sqlgen
from lab.checker.planner import ChunkSizer, ModeChooser, Tuning, branches, digest_row_cap
from lab.checker.schema import Kind, TableRef, TableSchema
from lab.checker.session import DCPool, DCSession
from lab.checker.sqlgen import KeyRange
from lab.errors import LabError

Summary = tuple[int, object]  # (COUNT(*), SUM of row hashes)


@dataclass
class WalkStats:
    chunks: int = 0
    hash_queries: int = 0
    digest_queries: int = 0
    leaves: int = 0
    bisections: int = 0
    rows_scanned: dict[str, int] = field(default_factory=dict)
    mode_switches: int = 0


def _key_chars(schema: TableSchema) -> int:
    sizes = {Kind.INTEGER: 20, Kind.DECIMAL: 40, Kind.BIT: 20, Kind.TEMPORAL: 54}
    return sum(sizes.get(c.kind, 64) for c in schema.key) + len(schema.key)


def _differ(summaries: dict[str, Summary]) -> bool:
    return len({repr(s) for s in summaries.values()}) > 1


def _compare_lists(texts: Mapping[str, str | bytes | None]) -> set[str]:
    return digests.differing_keys({dc: digests.elements(text) for dc, text in texts.items()})


class Walk:
    """One walk over `bounds` of the key space (all of it by default) on one pool's sessions; the lanes of
    a parallel check are walks over adjacent bounds, each on a pool of its own (see `lanes.py`)."""

    def __init__(self, pool: DCPool, schema: TableSchema, refs: dict[str, TableRef], *, chunk_time: float,
                 tuning: Tuning, bounds: KeyRange | None = None) -> None:
        self.pool, self.schema, self.refs = pool, schema, refs
        self.tuning = tuning
        self.bounds = bounds or KeyRange()
        min_packet = min(s.max_packet for s in pool.sessions.values())
        self.digest_cap = digest_row_cap(min_packet, _key_chars(schema), tuning.list_rows)
        self.space = keyspace.for_table(pool, schema, refs, tuning.initial_rows, tuning.max_growth, self.bounds)
        self.sizer = ChunkSizer(chunk_time, tuning)
        self.modes = ModeChooser(tuning)
        self.stats = WalkStats(rows_scanned=dict.fromkeys(pool.sessions, 0))
        self._comparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checker-compare")
        self._comparisons: list[Future[set[str]]] = []

    # --- queries ---------------------------------------------------------------------------
    def _hash(self, ranges: list[KeyRange]) -> tuple[list[dict[str, Summary]], float]:
        """(count, hash-sum) per range per DC, up to `max_branches` ranges per query; slowest DC's seconds."""
        step = self.tuning.max_branches

        def one(session: DCSession) -> tuple[list[Summary], float]:
            started = time.monotonic()
            results: list[Summary] = []
            ref = self.refs[session.dc]
            for start in range(0, len(ranges), step):
                batch = ranges[start:start + step]
                if len(batch) == 1:
                    rows = [{"i": 0, **session.run(sqlgen.chunk_hash_sql(self.schema, ref, batch[0]))[0]}]
                else:
                    rows = session.run(sqlgen.chunk_hashes_sql(self.schema, ref, batch))
                by_index = {int(row["i"]): (int(row["n"]), row["h"]) for row in rows}
                results += [by_index[i] for i in range(len(batch))]
            return results, time.monotonic() - started

        outcome = self.pool.map(one)
        self.stats.hash_queries += len(ranges)
        per_range = [{dc: results[i] for dc, (results, _) in outcome.items()} for i in range(len(ranges))]
        return per_range, max(seconds for _, seconds in outcome.values())

    def _digest(self, key_range: KeyRange, depth: int = 0) -> dict[str, int]:
        """List the range on every DC and record its differing keys; returns per-DC row counts."""
        results = self.pool.run_each(lambda s: sqlgen.digest_sql(self.schema, self.refs[s.dc], key_range))
        self.stats.digest_queries += 1
        counts = {dc: int(r[0]["n"]) for dc, r in results.items()}
        self._record(key_range, counts, {dc: r[0]["d"] for dc, r in results.items()}, depth)
        return counts

    def _digest_many(self, ranges: list[tuple[KeyRange, int]]) -> None:
        """List (range, most rows on a DC) pairs, as many per query as `max_branches` allows and with no more rows
        than one chunk (so a batch's lists take no more memory than a listed chunk's) or one list may hold."""
        batch: list[KeyRange] = []
        rows = 0
        most = min(self.digest_cap, self.sizer.size)
        for key_range, count in ranges:
            if batch and (len(batch) >= self.tuning.max_branches or rows + count > most):
                self._digest_batch(batch)
                batch, rows = [], 0
            batch.append(key_range)
            rows += count
        if batch:
            self._digest_batch(batch)

    def _digest_batch(self, batch: list[KeyRange]) -> None:
        if len(batch) == 1:
            self._digest(batch[0])
            return
        results = self.pool.run_each(lambda s: sqlgen.digests_sql(self.schema, self.refs[s.dc], batch))
        self.stats.digest_queries += 1
        by_index = {dc: {int(row["i"]): row for row in rows} for dc, rows in results.items()}
        for i, key_range in enumerate(batch):
            self._record(key_range, {dc: int(rows[i]["n"]) for dc, rows in by_index.items()},
                         {dc: rows[i]["d"] for dc, rows in by_index.items()})

    def _record(self, key_range: KeyRange, counts: dict[str, int], texts: Mapping[str, str | bytes | None],
                depth: int = 0) -> None:
        """Compare one range's lists (on the helper thread); a list cut short is listed again in parts."""
        truncated = [dc for dc, text in texts.items() if digests.count(text) != counts[dc]]
        if truncated:
            # GROUP_CONCAT hit max_allowed_packet: split on the fullest DC's keys and list the parts.
            parts = self.space.split(key_range, counts, 2)
            if depth >= self.tuning.max_depth or len(parts) < 2:
                raise LabError(f"{self.refs[truncated[0]]}: digest list does not fit in max_allowed_packet "
                               f"on {truncated[0]}")
            for part in parts:
                self._digest(part, depth + 1)
            return
        self.stats.leaves += 1
        first = texts[self.pool.reference]
        if any(text != first for text in texts.values()):
            self._comparisons.append(self._comparer.submit(_compare_lists, texts))

    def _found(self, upto: int | None = None) -> int:
        """Differing keys found by the comparisons started before index `upto` (waits for them)."""
        return sum(len(f.result()) for f in self._comparisons[:upto])

    # --- locating differences inside differing ranges ---------------------------------------
    def _locate(self, differing: list[tuple[KeyRange, dict[str, int]]], depth: int = 0) -> None:
        """Find the keys of differing (range, per-DC rows) pairs, one level at a time: list the small ones together,
        split the others, hash all their parts together, and descend into the differing parts."""
        to_list: list[tuple[KeyRange, int]] = []
        split: list[list[KeyRange]] = []   # the parts of each range that is split, hashed all in one go below
        for key_range, counts in differing:
            largest = max(counts.values())
            parts = [key_range]
            if largest > min(self.tuning.leaf_rows, self.digest_cap) and depth < self.tuning.max_depth:
                parts = self.space.split(key_range, counts, self.tuning.fanout)
            if len(parts) < 2:
                to_list.append((key_range, largest))
            else:
                split.append(parts)
        self.stats.bisections += len(split)
        summaries = iter(self._hash([part for parts in split for part in parts])[0] if split else [])
        deeper: list[tuple[KeyRange, dict[str, int]]] = []
        for parts in split:
            mine = [next(summaries) for _ in parts]
            inner = [(part, {dc: s[0] for dc, s in summary.items()})
                     for part, summary in zip(parts, mine, strict=True) if _differ(summary)]
            dense = len(inner) * 2 > len(parts)   # most parts differ: list them now rather than split further
            for part, part_counts in inner:
                most = max(part_counts.values())
                if dense and most <= self.digest_cap:
                    to_list.append((part, most))
                else:
                    deeper.append((part, part_counts))
        self._digest_many(to_list)
        if deeper:
            self._locate(deeper, depth + 1)

    # --- the top level -----------------------------------------------------------------------
    def _branches(self, size: int) -> int:
        return branches(size, self.tuning) if self.space.cheap_split else 1

    def _unit(self, size: int) -> int:
        """Rows a difference makes the walk rescan, hash-first: one sub-range of a chunk of `size` rows."""
        return max(1, size // self._branches(size))

    def _hash_chunk(self, chunk: KeyRange, size: int) -> tuple[dict[str, int], float]:
        """Hash a top-level chunk as sub-ranges in one query per DC and locate differences in the differing ones;
        returns per-DC row counts and the slowest DC's seconds for the hash query."""
        expected = self.space.rows_in(chunk)
        rows = size if expected is None else min(size, expected)   # the last chunk, open above, may be short
        parts = self.space.split(chunk, {self.pool.reference: rows}, self._branches(rows))
        summaries, seconds = self._hash(parts)
        counts = {dc: sum(s[dc][0] for s in summaries) for dc in self.pool.sessions}
        self._locate([(part, {dc: s[0] for dc, s in summary.items()})
                      for part, summary in zip(parts, summaries, strict=True) if _differ(summary)])
        return counts, seconds

    def run(self) -> set[str]:
        try:
            return self._run()
        finally:
            self._comparer.shutdown(wait=True)

    def _run(self) -> set[str]:
        lower = self.bounds.lo
        previous: tuple[int, int, int] | None = None   # (rows, comparisons before, comparisons after)
        while True:
            digest_first = self.modes.mode == "digest"
            size = min(self.sizer.size, self.digest_cap) if digest_first else self.sizer.size
            cut = self.space.next_cut(lower, size)
            chunk = KeyRange(lower, self.bounds.hi if cut is None else cut)
            before = len(self._comparisons)
            started = time.monotonic()
            if digest_first:
                counts = self._digest(chunk)
                seconds = time.monotonic() - started
            else:
                counts, seconds = self._hash_chunk(chunk, size)
            self.stats.chunks += 1
            for dc, n in counts.items():
                self.stats.rows_scanned[dc] += n
            rows = max(counts.values())
            self.space.observe(chunk, rows)
            next_size = self.sizer.observe(rows, seconds)
            if previous is not None:  # decide from the chunk before, whose lists are compared by now
                rows_then, first, last = previous
                # what a difference costs hash-first is a rescan of its sub-range: compare with listing per sub-range
                self.modes.observe(rows_then, self._found(last) - self._found(first), self._unit(next_size))
            previous = (rows, before, len(self._comparisons))
            if cut is None:
                break
            lower = cut
        self.stats.mode_switches = self.modes.switches
        found = set().union(*(f.result() for f in self._comparisons))
        self._comparisons.clear()   # each holds its leaf's set of keys, which would outlive the walk otherwise
        return found

    def found_so_far(self) -> int:
        """Differing keys of the comparisons already over (read from another thread for progress lines)."""
        return sum(len(f.result()) for f in list(self._comparisons) if f.done())

    @property
    def scanned(self) -> int:
        return self.stats.rows_scanned[self.pool.reference]
