"""A check's walk in lanes: adjacent parts of the key space walked at the same time.

Each lane is a `Walk` on a pool of its own (one session per DC, every lane's sessions on one
snapshot: `session.DCPool.open_lanes`), so each server runs up to one chunk query per lane at
once. One server query does not use a whole core here: on 2 cores, two queries per server over
halves of a 1M-row table took 0.81x (MySQL 9.7) and 0.84x (MariaDB 10.11) the time of one over
all of it. One lane stays the default, so that a check loads each server with one query at a
time, as pt-table-checksum does. Lanes need integer keys (`keyspace.lane_bounds`): elsewhere each cut
would be an index walk.

This module runs the lanes, reports progress over all of them, and adds up their statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import fields

from lab.checker.walk import Walk, WalkStats

PROGRESS_EVERY = 1.0  # seconds between progress lines


def walk_all(walks: Sequence[Walk], progress: Callable[[str], None] | None, label: str,
             estimated_rows: int | None) -> set[str]:
    """The differing keys found by every walk, run at once (one thread each). Progress every PROGRESS_EVERY
    seconds for walks that take a while, plus a last line; the first walk to fail fails the check."""
    executor = ThreadPoolExecutor(max_workers=len(walks), thread_name_prefix="checker-lane")
    try:
        running = [executor.submit(walk.run) for walk in walks]
        reported = False
        while True:
            done, pending = wait(running, timeout=PROGRESS_EVERY, return_when=FIRST_EXCEPTION)
            for future in done:
                future.result()   # raises a lane's error now, not once the other lanes are over
            if progress is not None and (pending or reported):
                progress(_line(walks, label, estimated_rows))
                reported = True
            if not pending:
                return set().union(*(future.result() for future in running))
    finally:
        executor.shutdown(wait=False)   # a failed check closes its sessions, which ends the other lanes


def _line(walks: Sequence[Walk], label: str, estimated_rows: int | None) -> str:
    total = f"/~{estimated_rows}" if estimated_rows else ""
    lanes = f" in {len(walks)} lanes" if len(walks) > 1 else ""
    sizes = "/".join(str(walk.sizer.size) for walk in walks)
    modes = "/".join(sorted({walk.modes.mode for walk in walks}))
    return (f"{label}: {sum(walk.scanned for walk in walks)}{total} rows compared{lanes}, "
            f"{sum(walk.found_so_far() for walk in walks)} differing key(s) so far, chunk {sizes} rows ({modes}-first)")


def merged_stats(walks: Sequence[Walk]) -> WalkStats:
    """The lanes' statistics added up, field by field (per DC for rows scanned)."""
    merged = WalkStats(rows_scanned=dict.fromkeys(walks[0].stats.rows_scanned, 0))
    for walk in walks:
        for name in (f.name for f in fields(WalkStats)):
            mine = getattr(walk.stats, name)
            if isinstance(mine, dict):
                for dc, value in mine.items():
                    getattr(merged, name)[dc] += value
            else:
                setattr(merged, name, getattr(merged, name) + mine)
    return merged
