"""Benchmark of the divergence checker (issue 7). A script, not a test: `python benchmarks/bench_checker.py`.

Loads N rows (default 1,000,000) into both DCs of a 2-DC active-active lab, makes D rows
(default 1,000) diverge on dc2 with the binary log off, then times, on the same data:
  (a) the checker (`lab.checker.compare_table`) producing the exact set of differing keys;
  (b) the floor: one full scan computing the checker's own strong row hash, both DCs in parallel;
  (c) naive: fetch every row from both DCs into pandas and compare there (own process, for its RSS);
  (d) pt-table-checksum + pt-table-sync --print, where percona-toolkit is installed and runs.
It prints each figure, whether every seeded key was found, and the ratios. Each timing is the
median of --repeat runs, (a) and (b) interleaved so that background load hits both alike.

The lab is named chk-bench-<flavor> and removed at the end unless --keep (reuse it with --lab).
Rows are generated identically on each DC by the servers (SHA2/CRC32 of the row number), with
sql_log_bin=0, which is much faster than replicating a million rows and yields the same state.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lab.checker import compare_table, sqlgen  # noqa: E402
from lab.checker import schema as tables  # noqa: E402
from lab.checker.result import CheckResult  # noqa: E402
from lab.db import topology  # noqa: E402
from lab.db.lab import Lab  # noqa: E402
from lab.db.server import Server  # noqa: E402
from lab.db.sql import Endpoint  # noqa: E402

TABLE = "bench"
PT_TIMEOUT = 120  # seconds; pt-table-checksum waits forever on a replica it believes stopped
DDL = f"""CREATE TABLE lab.{TABLE} (
  id BIGINT NOT NULL PRIMARY KEY, k INT NOT NULL, c VARCHAR(120) NOT NULL, pad CHAR(60) NOT NULL,
  amount DECIMAL(12,2) NULL, updated_at DATETIME(6) NOT NULL, note VARCHAR(64) NULL, KEY k (k)
) COLLATE utf8mb4_general_ci"""
# n runs over 0..N-1 as a.n*1000 + b.n; the row's id is n+1. Deterministic, identical on every DC.
LOAD = f"""INSERT INTO lab.{TABLE}
WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 999)
SELECT r + 1, CRC32(r) % 100000, SHA2(r, 256), LEFT(SHA2(r + 7, 256), 60),
       IF(r % 7 = 0, NULL, (r % 100000) / 100), TIMESTAMP('2024-01-01') + INTERVAL r SECOND,
       IF(r % 3 = 0, NULL, IF(r % 3 = 1, '', CONCAT('note ', r % 1000)))
FROM (SELECT a.n * 1000 + b.n AS r FROM d a, d b) numbers WHERE r < {{rows}}"""


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def median_time(function: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.monotonic()
        result = function()
        times.append(time.monotonic() - started)
    return statistics.median(times), result


# --- data ------------------------------------------------------------------------------------
def load(lab: Lab, rows: int) -> None:
    def one(server: Server) -> None:
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute("SET SESSION sql_log_bin = 0")
            cursor.execute(f"DROP TABLE IF EXISTS lab.{TABLE}")
            cursor.execute(DDL)
            cursor.execute(LOAD.format(rows=rows))

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(one, [lab.primary(dc) for dc in lab.topology.dcs]))
    say(f"loaded {rows} rows on each DC in {time.monotonic() - started:.1f}s")


def seed(lab: Lab, rows: int, diverged: int, spread: str) -> dict[str, set[int]]:
    """Make `diverged` keys differ on dc2; returns them by kind of change.

    Includes changes that cancel under BIT_XOR(CRC32): pairs of rows swapping their non-key values,
    and rows whose `c` gets the same appended character (equal-length rows changed alike).
    """
    rng = random.Random(7)
    if spread == "cluster":
        start = rows // 3
        ids = list(range(start, start + diverged))
    else:
        ids = rng.sample(range(1, rows + 1), diverged)
    extra_count = missing_count = diverged // 10
    extra = [rows + 1 + i for i in range(extra_count)]
    missing = ids[:missing_count]
    changed = ids[missing_count:diverged - extra_count]
    swaps = changed[:100]                       # 50 pairs swap their non-key values
    same_delta = changed[100:200]               # 100 rows: 'note' gets the same one-bit change
    plain = changed[200:]
    statements = [f"DELETE FROM lab.{TABLE} WHERE id IN ({','.join(map(str, missing))})",
                  f"UPDATE lab.{TABLE} SET k = k + 1 WHERE id IN ({','.join(map(str, plain))})",
                  f"UPDATE lab.{TABLE} SET c = CONCAT(c, 'x') WHERE id IN ({','.join(map(str, same_delta))})"]
    for a, b in zip(swaps[0::2], swaps[1::2], strict=True):
        statements.append(f"UPDATE lab.{TABLE} x JOIN lab.{TABLE} y ON x.id = {a} AND y.id = {b} "
                          "SET x.k = y.k, y.k = x.k, x.c = y.c, y.c = x.c")
    values = ",".join(f"({i}, 1, 'extra', 'pad', NULL, '2030-01-01', NULL)" for i in extra)
    statements.append(f"INSERT INTO lab.{TABLE} VALUES {values}")
    with lab.primary("dc2").connect() as connection, connection.cursor() as cursor:
        cursor.execute("SET SESSION sql_log_bin = 0")
        for statement in statements:
            cursor.execute(statement)
    return {"missing": set(missing), "extra": set(extra), "plain update": set(plain), "swapped pair": set(swaps),
            "same change": set(same_delta)}


# --- (b) the floor ---------------------------------------------------------------------------------
def floor_query(endpoint: Endpoint) -> str:
    from lab.checker.session import DCSession

    session = DCSession.open("probe", endpoint, read_timeout=600)
    try:
        ref = tables.TableRef("lab", TABLE)
        schema = tables.from_rows(ref, session.run(tables.columns_sql(ref)), session.run(tables.key_sql(ref)), "dc")
        return sqlgen.table_hash_sql(schema, ref)
    finally:
        session.close()


def floor(endpoints: dict[str, Endpoint], sql: str) -> list:
    def one(endpoint: Endpoint) -> dict:
        with endpoint.connect(read_timeout=600) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()

    with ThreadPoolExecutor(max_workers=len(endpoints)) as pool:
        return list(pool.map(one, endpoints.values()))


# --- (c) naive: its own process, so that its peak RSS is its own -------------------------------------
def naive(endpoints: dict[str, Endpoint]) -> dict:
    import pandas as pd

    def fetch(endpoint: Endpoint) -> pd.DataFrame:
        with endpoint.connect(read_timeout=600) as connection, connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM lab.{TABLE}")
            return pd.DataFrame(cursor.fetchall())

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        left, right = pool.map(fetch, endpoints.values())
    merged = left.merge(right, on="id", how="outer", suffixes=("_1", "_2"), indicator=True)
    columns = [c for c in left.columns if c != "id"]
    both = merged["_merge"] == "both"
    differs = pd.Series(False, index=merged.index)
    for c in columns:
        a, b = merged[f"{c}_1"], merged[f"{c}_2"]
        differs |= ~((a == b) | (a.isna() & b.isna()))
    found = merged.loc[~both | differs, "id"].astype(int).tolist()
    seconds = time.monotonic() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_rss_mb": peak_mb, "keys": found}


def naive_in_subprocess(endpoints: dict[str, Endpoint]) -> dict:
    payload = json.dumps({dc: ep.__dict__ for dc, ep in endpoints.items()})
    done = subprocess.run([sys.executable, __file__, "--naive-worker"], input=payload, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


# --- (d) pt-table-checksum + pt-table-sync ---------------------------------------------------------
def _dsn(endpoint: Endpoint) -> str:
    return f"h={endpoint.host},P={endpoint.port},u={endpoint.user},p={endpoint.password}"


def _flagged_chunks(endpoint: Endpoint) -> list[dict]:
    with endpoint.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT chunk, lower_boundary AS lo, upper_boundary AS hi FROM percona.checksums "
                       f"WHERE db = 'lab' AND tbl = '{TABLE}' AND (this_crc <> master_crc OR this_cnt <> master_cnt "
                       "OR ISNULL(master_crc) <> ISNULL(this_crc))")
        return list(cursor.fetchall())


def _where(chunk: dict) -> str:
    """pt-table-checksum's chunk boundaries (inclusive) as a WHERE clause on the single-column key."""
    parts = []
    if chunk["lo"] is not None:
        parts.append(f"id >= {int(chunk['lo'])}")
    if chunk["hi"] is not None:
        parts.append(f"id <= {int(chunk['hi'])}")
    return " AND ".join(parts) or "1=1"


def _printed_keys(text: str) -> set[int]:
    """Keys of the statements pt-table-sync --print wrote: WHERE `id`='N' or the first value of an INSERT."""
    keys = set()
    for line in text.splitlines():
        if line.startswith(("INSERT", "REPLACE")) and "VALUES (" in line:
            keys.add(int(line.split("VALUES (", 1)[1].split(",", 1)[0].strip("'")))
        elif "`id`='" in line:
            keys.add(int(line.rsplit("`id`='", 1)[1].split("'", 1)[0]))
    return keys


def percona(lab: Lab) -> dict:
    """pt-table-checksum on dc1 (its checksum queries replicate to dc2), then pt-table-sync --print per flagged chunk.

    pt-table-sync --replicate would find the flagged chunks itself, but 3.2.1 cannot use a DSN table
    to find replicas (its dsn recursion is broken) and --sync-to-master needs the source's in-network
    host name; comparing dc1 with dc2 directly on each flagged chunk's boundaries does the same work.
    """
    if not shutil.which("pt-table-checksum"):
        return {"ran": False, "why": "percona-toolkit not installed (apt-get install percona-toolkit)"}
    version = subprocess.run(["pt-table-checksum", "--version"], capture_output=True, text=True).stdout.strip()
    dc1, dc2 = lab.primary("dc1").endpoint, lab.primary("dc2").endpoint
    with dc1.connect() as connection, connection.cursor() as cursor:
        cursor.execute("DROP DATABASE IF EXISTS percona")
        cursor.execute("CREATE DATABASE percona")
        cursor.execute("CREATE TABLE percona.dsns (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT NULL, "
                       "dsn VARCHAR(255) NOT NULL)")
        cursor.execute("INSERT INTO percona.dsns (dsn) VALUES (%s)", (_dsn(dc2),))
    lab.catch_up()
    started = time.monotonic()
    try:
        checksum = subprocess.run(["pt-table-checksum", "--no-version-check", "--recursion-method=dsn=D=percona,t=dsns",
                                   "--replicate=percona.checksums", "--databases=lab", f"--tables={TABLE}",
                                   "--no-check-binlog-format", "--no-check-replication-filters", _dsn(dc1)],
                                  capture_output=True, text=True, timeout=PT_TIMEOUT)
    except subprocess.TimeoutExpired as stalled:
        said = (stalled.stderr or b"").decode(errors="replace").strip().splitlines() or ["no output"]
        return {"ran": False, "version": version, "why": f"stalled, gave up after {PT_TIMEOUT}s: {said[-1][:120]}"}
    checksum_seconds = time.monotonic() - started
    lines = checksum.stdout.strip().splitlines()
    if not lines or not lines[-1].rstrip().endswith(f"lab.{TABLE}"):
        return {"ran": False, "version": version, "why": (checksum.stderr.strip().splitlines() or ["?"])[-1][:160]}
    lab.catch_up()
    started = time.monotonic()
    chunks = _flagged_chunks(dc2)
    found: set[int] = set()
    errors = []
    for chunk in chunks:
        sync = subprocess.run(["pt-table-sync", "--no-version-check", "--print", "--no-check-slave",
                               f"--where={_where(chunk)}", f"{_dsn(dc1)},D=lab,t={TABLE}",
                               f"{_dsn(dc2)},D=lab,t={TABLE}"],
                              capture_output=True, text=True)
        if sync.returncode not in (0, 1, 2):
            errors.append((sync.stderr.strip().splitlines() or ["?"])[-1][:160])
        found.update(_printed_keys(sync.stdout))
    sync_seconds = time.monotonic() - started
    return {"ran": True, "version": version, "checksum_seconds": checksum_seconds, "sync_seconds": sync_seconds,
            "keys": sorted(found), "chunks_flagged": len(chunks), "summary": lines[-1].split(),
            "sync_error": "; ".join(sorted(set(errors)))}


# --- main ----------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flavor", default="mariadb:10.11")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--diverged", type=int, default=1000)
    parser.add_argument("--spread", choices=["random", "cluster"], default="random")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lab", help="reuse this running lab (its data is replaced)")
    parser.add_argument("--keep", action="store_true", help="leave the lab running")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--skip-percona", action="store_true")
    parser.add_argument("--naive-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive_worker:
        endpoints = {dc: Endpoint(**fields) for dc, fields in json.loads(sys.stdin.read()).items()}
        print(json.dumps(naive(endpoints)))
        return 0

    name = args.lab or "chk-bench-" + args.flavor.replace(":", "").replace(".", "")
    if args.lab:
        lab = Lab.attach(args.lab)
    else:
        resolved = topology.load(str(ROOT / "topologies/active-active.yaml"), flavor=args.flavor,
                                 binlog_format="ROW")
        lab = Lab.up(resolved, name=name, progress=say)
        lab.remember_overrides({"flavor": args.flavor, "binlog_format": "ROW"})
    try:
        return run(lab, args)
    finally:
        if not args.keep and not args.lab:
            lab.down()


def run(lab: Lab, args: argparse.Namespace) -> int:
    load(lab, args.rows)
    groups = seed(lab, args.rows, args.diverged, args.spread)
    seeded = set().union(*groups.values())
    lab.catch_up()
    endpoints = {dc: lab.primary(dc).endpoint for dc in lab.topology.dcs}
    flavor = lab.primary("dc1").dialect.label
    say(f"{flavor}: {len(seeded)} keys diverged ({args.spread}); timing (a) and (b), {args.repeat} runs each")
    floor_sql = floor_query(endpoints["dc1"])
    floor(endpoints, floor_sql)  # warm the buffer pools alike for everyone
    a_times, b_times, result = [], [], None
    for _ in range(args.repeat):
        t, result = median_time(lambda: compare_table(endpoints, f"lab.{TABLE}"), 1)
        a_times.append(t)
        t, _ = median_time(lambda: floor(endpoints, floor_sql), 1)
        b_times.append(t)
    a, b = statistics.median(a_times), statistics.median(b_times)
    say("(a) runs: " + ", ".join(f"{t:.2f}" for t in a_times) + "; (b) runs: " + ", ".join(f"{t:.2f}" for t in b_times))
    found = {key[0] for key in result.keys}
    figures = [("(a) checker, exact differing keys", a, found == seeded,
                f"{len(found)} keys; {result.stats['chunks']} chunks, {result.stats['leaves_fetched']} leaves, "
                f"{result.stats['mode_switches']} mode switches")]
    figures.append(("(b) floor: strong-hash full scan, both DCs", b, None, "one SUM(SHA2) query per DC"))
    if not args.skip_naive:
        say("timing (c) naive fetch-and-merge in pandas")
        c = naive_in_subprocess(endpoints)
        figures.append(("(c) naive: fetch all rows, compare in pandas", c["seconds"], set(c["keys"]) == seeded,
                        f"{len(c['keys'])} keys, peak RSS {c['peak_rss_mb']:.0f} MB"))
    if not args.skip_percona:
        say("timing (d) pt-table-checksum + pt-table-sync --print")
        d = percona(lab)
        if d.get("ran"):
            summary = d["summary"]  # TS ERRORS DIFFS ROWS DIFF_ROWS CHUNKS SKIPPED TIME TABLE
            figures.append((f"(d1) {d['version']}, flags chunks", d["checksum_seconds"], None,
                            f"{summary[2]} of {summary[5]} chunks flagged, {summary[1]} errors"))
            keys = set(d["keys"])
            missed = len(seeded - keys)
            by_group = ", ".join(f"{len(g - keys)} {name}" for name, g in groups.items() if g - keys)
            notes = f"{len(keys)} keys, missed {missed}" + (f" ({by_group})" if by_group else "")
            notes += f"; {d['sync_error']}" if d["sync_error"] else ""
            figures.append(("(d2) + pt-table-sync --print on flagged chunks", d["checksum_seconds"] + d["sync_seconds"],
                            keys == seeded, notes))
        else:
            figures.append((f"(d) {d.get('version', 'pt-table-checksum')}", None, None, f"did not run: {d['why']}"))
    report(flavor, args, figures, a, b, result)
    return 0 if found == seeded else 1


def report(flavor: str, args: argparse.Namespace, figures: list, a: float, b: float,
           result: CheckResult) -> None:
    print(f"\n{flavor}: {args.rows:,} rows, {args.diverged:,} diverged ({args.spread}), median of {args.repeat}")
    print(f"{'method':52} {'seconds':>8} {'x floor':>8}  all found  notes")
    for label, seconds, complete, notes in figures:
        shown = f"{seconds:8.2f} {seconds / b:8.2f}" if seconds is not None else f"{'-':>8} {'-':>8}"
        verdict = {True: "yes", False: "NO", None: "-"}[complete]
        print(f"{label:52} {shown}  {verdict:9}  {notes}")
    print(f"\nratio (a)/(b) = {a / b:.2f}  (target <= 1.5)")
    for label, seconds, _, _ in figures:
        if label.startswith("(d2)") and seconds:
            print(f"ratio (a)/(d2) = {a / seconds:.2f}  (target < 1: the checker gives rows, pt only chunks)")
        if label.startswith("(c)") and seconds:
            print(f"ratio (c)/(a) = {seconds / a:.1f}")
    print(f"checker stats: {json.dumps(result.stats, default=str)}")


if __name__ == "__main__":
    sys.exit(main())
