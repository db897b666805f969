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
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checker_common import (
    TABLE,
    endpoints_json,
    floor,
    floor_query,
    in_subprocess,
    interleaved,
    load,
    open_lab,
    say,
    seed,
    timed,
)
from checker_percona import percona

from lab.checker import compare_table
from lab.checker.result import CheckResult
from lab.db.lab import Lab
from lab.db.sql import Endpoint


def naive_in_subprocess(endpoints: dict[str, Endpoint]) -> dict:
    """(c) in a process of its own (checker_children.naive), so that its peak RSS is its own."""
    return in_subprocess("--naive-worker", {"endpoints": endpoints_json(endpoints)})


# --- main ----------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flavor", default="mariadb:10.11")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--diverged", type=int, default=1000)
    parser.add_argument("--spread", choices=["random", "clustered"], default="random")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lab", help="reuse this running lab (its data is replaced)")
    parser.add_argument("--keep", action="store_true", help="leave the lab running")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--skip-percona", action="store_true")
    parser.add_argument("--percona-bin", help="directory of the percona-toolkit to use (default: the one on PATH)")
    args = parser.parse_args()

    name = args.lab or "chk-bench-" + args.flavor.replace(":", "").replace(".", "")
    lab = open_lab(args.flavor, name, args.lab)
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
    (a_times, results), (b_times, _) = interleaved([timed(lambda: compare_table(endpoints, f"lab.{TABLE}")),
                                                    timed(lambda: floor(endpoints, floor_sql))], args.repeat)
    result = results[-1]
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
        d = percona(lab, args.percona_bin)
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
