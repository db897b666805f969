"""`compare_table`: the exact differing rows of one table across DCs, read directly from each DC."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from lab.checker import keyspace, lanes, sqlgen
from lab.checker import rows as rowdiff
from lab.checker import schema as tables
from lab.checker.planner import Tuning
from lab.checker.result import CheckResult
from lab.checker.session import DCPool, DCSession
from lab.checker.walk import Walk
from lab.db.sql import Endpoint
from lab.errors import LabError


class _GCPause:
    """No cyclic garbage collection while checks run (nested and concurrent checks share one pause).

    A check with many diverged keys creates millions of objects (digest lists, rows, frames), none
    of them cyclic, and each collection traverses every live one. Measured with 100,000 diverged
    keys: about a third of the classification time, and a share of every other phase. Collection
    resumes, if it was on, when the last check ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._was_enabled:
                    gc.enable()


gc_paused = _GCPause()


def _introspect(session: DCSession, ref: tables.TableRef) -> tables.TableSchema:
    columns = session.run(tables.columns_sql(ref))
    key = session.run(tables.key_sql(ref))
    return tables.from_rows(ref, columns, key, session.dc)


def _estimated_rows(session: DCSession, ref: tables.TableRef) -> int | None:
    rows = session.run(tables.estimate_sql(ref))
    return int(rows[0]["n"]) if rows and rows[0]["n"] is not None else None


def compare_table(endpoints: Mapping[str, Endpoint], table: str, *, snapshot: bool = True,
                  chunk_time: float = 0.5, progress: Callable[[str], None] | None = None,
                  tuning: Tuning | None = None, parallel: int = 1) -> CheckResult:
    """Compare `table` on every DC directly (nothing is replayed through replication).

    The first DC is the reference: chunk boundaries are walked on its primary key and every
    difference is classified relative to it (see `rows.classify`). With `snapshot`, each DC is
    read inside START TRANSACTION WITH CONSISTENT SNAPSHOT and `read_at` tells the GTID set or
    binlog position the snapshot corresponds to; call the lab's catch-up first so that the
    snapshots describe the same logical point.

    Tables without a primary key are refused with a LabError (rows are matched by primary key;
    a multiset comparison would give no key to repair by). Column names and the primary key must
    match on every DC. `chunk_time` is the target seconds per chunk query; `tuning` exposes the
    walk's other knobs (tests use it to force each code path). `parallel` lanes walk parts of the key
    space at once, on a session per DC each, all on one snapshot (see `lanes`; integer keys only,
    others are walked in one lane): up to `parallel` queries per server at a time.
    """
    if parallel < 1:
        # for API callers: the CLI refuses it first, naming --parallel
        raise LabError(f"compare_table: parallel={parallel}, give 1 or more (lanes walked at once, each a query "
                       "per server)")
    with gc_paused():
        return _compare(endpoints, table, snapshot=snapshot, chunk_time=chunk_time, progress=progress,
                        tuning=tuning or Tuning(), parallel=parallel)


def _compare(endpoints: Mapping[str, Endpoint], table: str, *, snapshot: bool, chunk_time: float,
             progress: Callable[[str], None] | None, tuning: Tuning, parallel: int) -> CheckResult:
    started = time.monotonic()
    refs = {dc: tables.TableRef.parse(table, ep.database) for dc, ep in endpoints.items()}
    phases: dict[str, float] = {}   # wall seconds per phase: where a slow check spends its time
    pools = DCPool.open_lanes(endpoints, parallel, read_timeout=max(60.0, chunk_time * 40))
    pool = pools[0]
    try:
        schema = tables.reconcile(pool.map(lambda s: _introspect(s, refs[s.dc])))
        estimate = _estimated_rows(pool.sessions[pool.reference], refs[pool.reference])
        # cut before any snapshot (the outer lanes are open-ended, so keys written meanwhile are still walked),
        # so that a table walked in one lane is never locked
        bounds = keyspace.lane_bounds(pool, schema, refs, parallel)
        for idle in pools[len(bounds):]:   # keys that cannot be cut cheaply, or too few: one lane
            idle.close()
        pools = pools[:len(bounds)]
        DCPool.start_reading(pools, snapshot=snapshot, tables={dc: ref.sql for dc, ref in refs.items()})
        walks = [Walk(lane, schema, refs, chunk_time=chunk_time, tuning=tuning, bounds=part)
                 for lane, part in zip(pools, bounds, strict=True)]
        phases["open"] = time.monotonic() - started
        keys = sqlgen.in_key_order(schema, lanes.walk_all(walks, progress, str(refs[pool.reference]), estimate))
        phases["walk"] = time.monotonic() - started - phases["open"]
        divergences = rowdiff.collect(pool, schema, refs, keys, tuning.fetch_batch, snapshot=snapshot)
        phases["rows"] = time.monotonic() - started - phases["open"] - phases["walk"]
        dcs = list(pool.sessions)
        read_at = {dc: s.read_at for dc, s in pool.sessions.items()}
        walked = lanes.merged_stats(walks)
        sessions = {dc: [lane.sessions[dc] for lane in pools] for dc in dcs}
        stats = {
            "chunks": walked.chunks,
            "leaves_fetched": walked.leaves,
            "hash_queries": walked.hash_queries,
            "digest_queries": walked.digest_queries,
            "bisections": walked.bisections,
            "mode_switches": walked.mode_switches,
            "final_chunk_rows": max(walk.sizer.size for walk in walks),
            "candidate_keys": len(keys),
            "rows_scanned": dict(walked.rows_scanned),
            "lanes": len(walks),
            "queries": {dc: sum(s.queries for s in mine) for dc, mine in sessions.items()},
            "query_seconds": {dc: round(sum(s.seconds for s in mine), 3) for dc, mine in sessions.items()},
            "read_at_exact": {dc: s.read_at_exact for dc, s in pool.sessions.items()},
            "snapshot": snapshot,
            "flavors": {dc: s.dialect.label for dc, s in pool.sessions.items()},
            "phase_seconds": {name: round(seconds, 3) for name, seconds in phases.items()},
        }
    finally:
        for lane in pools:
            lane.close()
    framing = time.monotonic()
    result = CheckResult(str(refs[dcs[0]]), dcs, schema.key_names, schema.column_names, divergences, read_at, stats,
                         tables={dc: str(ref) for dc, ref in refs.items()})
    # The frames are part of what a caller waits for: about 0.7 s per 100,000 diverged keys.
    stats["phase_seconds"]["frames"] = round(time.monotonic() - framing, 3)
    stats["seconds"] = round(time.monotonic() - started, 3)
    return result
