"""The measured processes of the checker benchmarks: the checker, reladiff and the naive pandas merge.

    python benchmarks/checker_children.py --checker-worker < payload.json   (what checker_common.in_subprocess runs)

Each child imports only what the tool it runs needs, so that its peak RSS is the tool's own. The
harness (checker_common) loads the lab's Docker client and container modules, about 20 MB that a
user checking their own servers never loads. Reads a JSON payload on stdin, prints JSON figures.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.db.sql import Endpoint

TABLE = "bench"   # the generated table (checker_common.DDL)
VALUE_COLUMNS = ("k", "c", "pad", "amount", "updated_at", "note")   # its non-key columns


def peak_mb() -> float:
    """This process's own peak RSS in MB. Linux's ru_maxrss keeps the high-water mark of the parent's forked
    copy across exec, so a child started by a parent holding 200 MB reports at least 200 MB; VmHWM belongs to
    the child's own address space (ru_maxrss only where /proc is missing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def endpoints_from(fields: dict[str, dict]) -> dict[str, Endpoint]:
    return {dc: Endpoint(**values) for dc, values in fields.items()}


def checker(payload: dict) -> dict:
    """`lab.checker.compare_table` as a user calls it; the frames are built, as they are for every caller."""
    from lab.checker import Tuning, compare_table

    endpoints = endpoints_from(payload["endpoints"])
    before = peak_mb()
    started = time.monotonic()
    result = compare_table(endpoints, f"lab.{TABLE}", tuning=Tuning(**(payload.get("tuning") or {})),
                           parallel=payload.get("parallel", 1))
    seconds = time.monotonic() - started
    return {"seconds": seconds, "peak_rss_mb": peak_mb(), "rss_before_mb": before,
            "keys": sorted(int(key[0]) for key in result.keys),
            "stats": json.loads(json.dumps(result.stats, default=str))}


def reladiff_worker(payload: dict) -> dict:
    """reladiff as a user calls it: hashdiff (two servers), every column compared, default bisection."""
    import reladiff

    threads = int(payload["threads"])
    started = time.monotonic()
    tables = [reladiff.connect_to_table(f"mysql://{e.user}:{e.password}@{e.host}:{e.port}/lab", TABLE, "id",
                                        thread_count=threads)
              for e in endpoints_from(payload["endpoints"]).values()]
    with reladiff.diff_tables(*tables, extra_columns=VALUE_COLUMNS, max_threadpool_size=2 * threads) as diff:
        keys = {int(values[0]) for _sign, values in diff}
    return {"seconds": time.monotonic() - started, "peak_rss_mb": peak_mb(), "keys": sorted(keys)}


def naive(payload: dict) -> dict:
    """Fetch every row from both DCs into pandas and compare there: what the checker saves a user from."""
    import pandas as pd

    def fetch(endpoint: Endpoint) -> pd.DataFrame:
        with endpoint.connect(read_timeout=600) as connection, connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM lab.{TABLE}")
            return pd.DataFrame(cursor.fetchall())

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        left, right = pool.map(fetch, endpoints_from(payload["endpoints"]).values())
    merged = left.merge(right, on="id", how="outer", suffixes=("_1", "_2"), indicator=True)
    columns = [c for c in left.columns if c != "id"]
    both = merged["_merge"] == "both"
    differs = pd.Series(False, index=merged.index)
    for c in columns:
        a, b = merged[f"{c}_1"], merged[f"{c}_2"]
        differs |= ~((a == b) | (a.isna() & b.isna()))
    found = merged.loc[~both | differs, "id"].astype(int).tolist()
    return {"seconds": time.monotonic() - started, "peak_rss_mb": peak_mb(), "keys": found}


WORKERS: dict[str, Any] = {"--checker-worker": checker, "--reladiff-worker": reladiff_worker,
                           "--naive-worker": naive}


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in WORKERS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(WORKERS)}}} < payload.json")
    print(json.dumps(WORKERS[sys.argv[1]](json.loads(sys.stdin.read()))))
