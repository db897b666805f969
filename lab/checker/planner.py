"""Pure decisions of the walk: how many rows the next chunk gets, and whether to hash or list it first.

Chunk size follows a time target, like pt-table-checksum's --chunk-time: after each chunk the
observed rows/second (of the slowest DC) gives the size that would have taken `chunk_time`;
growth and shrinkage per step are capped so one noisy chunk cannot swing the size wildly.

Hash-first vs digest-first: hashing a chunk and then listing it if it differs scans it twice,
while listing it directly (key + 64-bit row hash per row) scans it once but sends ~25 bytes per
row. When divergence is dense (the last chunk's density predicts at least one differing key in
the next chunk), most chunks differ anyway, so the walk lists first; when it thins out, it goes
back to hashing first. Server CPU per row is about the same for both queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["hash", "digest"]


@dataclass(frozen=True)
class Tuning:
    """Knobs of the walk. The defaults suit tables of any size; tests shrink them to force each path."""

    initial_rows: int = 1000          # first chunk, before any timing is known (pt-table-checksum's default)
    min_rows: int = 100
    max_rows: int = 2_000_000
    max_growth: float = 8.0           # per chunk, up or down
    fanout: int = 8                   # sub-ranges per bisection step
    leaf_rows: int = 10_000           # a differing range this small is listed, not bisected further
    sub_rows: int = 1000              # rows per sub-range a hash-first chunk is summed in (integer keys)
    max_branches: int = 256           # ... and at most this many sub-ranges (UNION ALL branches) per query
    fetch_batch: int = 2000           # keys per whole-row lookup query (2000 integer keys: about 20 KB of SQL)
    list_rows: int = 50_000           # most rows one digest list holds (see digest_row_cap)
    start_mode: Mode = "hash"
    adaptive_mode: bool = True
    digest_at: float = 1.0            # expected differing keys per chunk that switch to digest-first
    hash_below: float = 0.25          # ... and back to hash-first
    max_depth: int = 48

    def __post_init__(self) -> None:
        if self.fanout < 2:
            raise ValueError("fanout must be at least 2")
        if not 1 <= self.min_rows <= self.initial_rows <= self.max_rows:
            raise ValueError("need 1 <= min_rows <= initial_rows <= max_rows")
        if self.sub_rows < 1 or self.max_branches < 1:
            raise ValueError("sub_rows and max_branches must be at least 1")
        if self.list_rows < 1:
            raise ValueError("list_rows must be at least 1")


class ChunkSizer:
    """Rows for the next chunk, adapted so that one chunk query takes about `target` seconds."""

    def __init__(self, target: float, tuning: Tuning, cap: int | None = None) -> None:
        self.target = target
        self.tuning = tuning
        self.cap = min(tuning.max_rows, cap) if cap else tuning.max_rows
        self.size = max(tuning.min_rows, min(tuning.initial_rows, self.cap))

    def observe(self, rows: int, seconds: float) -> int:
        """Feed one chunk's rows and slowest-DC seconds; returns the new size."""
        growth = self.tuning.max_growth
        ideal = rows / seconds * self.target if rows > 0 and seconds > 0 else self.size * growth
        bounded = min(max(ideal, self.size / growth), self.size * growth)
        self.size = int(max(self.tuning.min_rows, min(self.cap, bounded)))
        return self.size


class ModeChooser:
    """Hash-first or digest-first for the next chunk, from the last chunk's density of differences."""

    def __init__(self, tuning: Tuning) -> None:
        self.tuning = tuning
        self.mode: Mode = tuning.start_mode
        self.switches = 0

    def observe(self, rows: int, differing: int, next_size: int) -> Mode:
        if not self.tuning.adaptive_mode:
            return self.mode
        expected = differing / rows * next_size if rows > 0 else 0.0
        wanted: Mode = self.mode
        if self.mode == "hash" and expected >= self.tuning.digest_at:
            wanted = "digest"
        elif self.mode == "digest" and expected < self.tuning.hash_below:
            wanted = "hash"
        if wanted != self.mode:
            self.mode, self.switches = wanted, self.switches + 1
        return self.mode


def branches(rows: int, tuning: Tuning) -> int:
    """Sub-ranges to sum a hash-first chunk of `rows` in, all in the same scan (one UNION ALL query).

    A differing chunk then costs a rescan of its differing sub-ranges only, not of the whole chunk
    (which bisection needs): with a few scattered differences per million rows, that rescan was
    most of the time. Each branch costs a few tens of microseconds, so they are kept at `sub_rows`
    rows or more, and at most `max_branches` of them.
    """
    return max(1, min(tuning.max_branches, rows // tuning.sub_rows))


def split_step(rows: int, fanout: int) -> int:
    """Rows per sub-range when splitting `rows` into `fanout` parts (at least 1)."""
    return max(1, -(-rows // fanout))


def digest_row_cap(max_packet: int, key_chars: int, list_rows: int) -> int:
    """Most rows one digest list may hold: `list_rows`, and few enough to fit comfortably in max_allowed_packet.

    A list is split into one string per row in Python, about 80 bytes each per DC, while the next chunk's
    lists arrive. Bounded by the packet alone, a chunk listed digest-first grows with the time target to
    100,000 rows and more: on 10M rows with 1 % differing, the walk then peaked 49-72 MB above the process's
    start, against 28-29 MB with lists of 50,000 rows, in about the same time (2026-12-07, findings)."""
    per_row = key_chars + 1 + 16 + 1
    return min(list_rows, max(100, int(max_packet * 0.4) // per_row))
