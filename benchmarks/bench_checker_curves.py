"""Growth curves of the checker next to the floor and the tools users would pick instead (issue 16).

    python benchmarks/bench_checker_curves.py --flavor mariadb:10.11 [--sizes 100000,1000000] [--repeat 1]

A script, not a test. One lab per run (chk-curve-<flavor>, removed at the end unless --keep). For
each table size the rows are generated on both DCs with the binary log off (checker_common.load);
for each point (size, differing keys, spread) the differences are seeded on dc2 and undone after
the point (checker_common.seed / restore), so one load serves every point of that size. Timed per point:
  checker   lab.checker.compare_table, in a child process (its own peak RSS, VmHWM);
  lanes     the same with --parallel lanes (default 2, reladiff's threads per DC): as many queries
            per server at once as reladiff sends;
  floor     one strong-hash full scan of both DCs in parallel (the checker's own row hash);
  pt        pt-table-checksum, then pt-table-sync --print on the flagged ranges (where it runs);
  reladiff  reladiff's hashdiff over every column (child process; MD5 is loaded on MySQL for it).
Checker, floor and the checker in lanes take turns, --repeat rounds (medians). Writes a CSV and a
PNG (seconds against rows, log scales, one panel per difference count and spread) to --out, prints a
table with the ratios and the targets' verdicts. Never fails on time: exit 0 whatever the figures. Progress on stderr.

pt-table-checksum runs where its version can: Debian bookworm's 3.2.1 against MariaDB, sid's 3.7.1
against MySQL 9.7 (`LAB_BENCH_TOOLS=1 bash scripts/setup.sh` installs both, the second under .lab/tools/;
--percona-bin DIR picks another). Where it cannot, the rows say "not run: " and why.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import checker_common as common
import checker_percona as percona_peer
import curves_verdicts as rules  # the pure half (the unit tests reach it as bench_checker_curves.rules)
from curves_verdicts import (
    BASELINE,
    CHECKER,
    DIFFS,
    FLOOR,
    LANES,
    PT_CHECKSUM,
    PT_SYNC,
    RELADIFF,
    Point,
    record,
)

from lab.checker import Tuning
from lab.db.lab import Lab


# --- measuring ------------------------------------------------------------------------------------
class Curves:
    """Every point of one flavor on one lab; `records` grows by one row per tool per point."""

    def __init__(self, lab: Lab, args: argparse.Namespace, date: str) -> None:
        self.lab, self.args, self.date = lab, args, date
        self.flavor = lab.primary("dc1").dialect.label
        self.endpoints = {dc: lab.primary(dc).endpoint for dc in lab.topology.dcs}
        self.records: list[dict] = []
        self.checker_stats: list[dict] = []
        self.pt_blocked = "" if "pt" in args.tools else "not run: left out by --tools"
        self.floor_sql = ""
        if lab.primary("dc1").dialect.name == "mysql" and "reladiff" in args.tools:
            self._load_md5()

    def _load_md5(self) -> None:
        """reladiff hashes with MD5(), which MySQL 9.7 only has as a component."""
        for server in common.primaries(self.lab):
            with server.connect() as connection, connection.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) AS n FROM mysql.component WHERE component_urn LIKE '%classic_hashing'")
                if not cursor.fetchone()["n"]:
                    cursor.execute("SET SESSION sql_log_bin = 0")
                    cursor.execute("INSTALL COMPONENT 'file://component_classic_hashing'")

    def add(self, point: Point, tool: str, seconds: float | None, **fields: object) -> dict:
        row = record(self.flavor, point, tool, seconds, date=self.date, **fields)
        self.records.append(row)
        return row

    def size(self, rows: int, plan: list[Point]) -> None:
        common.load(self.lab, rows)
        self.lab.catch_up()
        self.floor_sql = common.floor_query(self.endpoints["dc1"])
        for point in plan:
            groups = common.seed(self.lab, rows, point.diffs, point.spread) if point.diffs else {}
            # Warm the buffer pools alike for everyone, after seeding: without it the first timed run (always the
            # checker's) paid for the pages seeding or undoing had changed, and took 1.3-1.8 times the other two
            # at 1M rows, 1,000 random, checker and floor alike.
            common.floor(self.endpoints, self.floor_sql)
            try:
                self.point(point, set().union(*groups.values()) if groups else set())
            finally:
                common.restore(self.lab, rows, groups)

    def _checker(self, tuning: dict | None = None, parallel: int = 1) -> tuple[float, dict]:
        payload = {"endpoints": common.endpoints_json(self.endpoints),
                   "tuning": self.args.tuning if tuning is None else tuning, "parallel": parallel}
        figures = common.in_subprocess("--checker-worker", payload)
        return figures["seconds"], figures

    def point(self, point: Point, seeded: set[int]) -> None:
        others = {LANES: lambda: self._checker(parallel=self.args.parallel)} if self.args.parallel > 1 else {}
        if self.args.baseline is not None:
            others[BASELINE] = lambda: self._checker(self.args.baseline)
        common.say(f"{self.flavor}: {point.label}: checker, floor{''.join(', ' + t for t in others)} in turn, "
                   f"{self.args.repeat} run(s) each")
        (checker_runs, results), (floor_runs, _), *more = common.interleaved(
            [self._checker, common.timed(lambda: common.floor(self.endpoints, self.floor_sql)), *others.values()],
            self.args.repeat)
        floor_s, checker_s = statistics.median(floor_runs), statistics.median(checker_runs)
        extra = dict(zip(others, more, strict=True))
        self.add(point, FLOOR, floor_s, floor=floor_s, note="one SUM(SHA2) scan per DC, in parallel")
        last = results[-1]
        stats = last["stats"]
        self.checker_stats.append({"point": point.__dict__, "runs": checker_runs, "floor_runs": floor_runs,
                                   "rss_before_mb": last["rss_before_mb"], "stats": stats})
        self.add(point, CHECKER, checker_s, floor=floor_s, seeded=seeded, found=set(last["keys"]),
                 peak_rss_mb=max(r["peak_rss_mb"] for r in results),
                 note=f"{stats['chunks']} chunks, {stats['leaves_fetched']} leaves, {stats['hash_queries']} hash + "
                      f"{stats['digest_queries']} list queries, {stats['mode_switches']} mode switches")
        common.say(f"  checker {checker_s:.2f}s ({checker_s / floor_s:.2f}x floor {floor_s:.2f}s)")
        for tool, (times, figures) in extra.items():
            seconds = statistics.median(times)
            note = (f"tuning {self.args.baseline}" if tool == BASELINE else
                    f"--parallel {self.args.parallel}: {figures[-1]['stats']['lanes']} lanes, "
                    f"{figures[-1]['stats']['chunks']} chunks")
            self.add(point, tool, seconds, floor=floor_s, seeded=seeded, found=set(figures[-1]["keys"]),
                     peak_rss_mb=max(f["peak_rss_mb"] for f in figures), note=note)
            common.say(f"  {tool} ({note}): {seconds:.2f}s ({seconds / floor_s:.2f}x floor)")
        if "pt" in self.args.tools:
            self._percona(point, seeded, floor_s)
        else:
            self.add(point, PT_SYNC, None, status="not run", note=self.pt_blocked)
        if "reladiff" in self.args.tools:
            self._reladiff(point, seeded, floor_s)
        else:
            self.add(point, RELADIFF, None, status="not run", note="not run: left out by --tools")

    def _percona(self, point: Point, seeded: set[int], floor_s: float) -> None:
        if self.pt_blocked:
            self.add(point, PT_SYNC, None, status="not run", note=self.pt_blocked)
            return
        common.say(f"  pt-table-checksum + pt-table-sync --print ({self.args.tool_timeout:.0f}s at most in all)")
        d = percona_peer.percona(self.lab, self.args.percona_bin, self.args.tool_timeout)
        if not d.get("ran"):
            # the same version fails the same way at every point: say so once, do not wait again
            self.pt_blocked = f"not run: {d.get('version', 'pt-table-checksum')}: {d['why']}"
            self.add(point, PT_SYNC, None, status="not run", note=self.pt_blocked)
            return
        summary = d["summary"]  # TS ERRORS DIFFS ROWS DIFF_ROWS CHUNKS SKIPPED TIME TABLE
        self.add(point, PT_CHECKSUM, d["checksum_seconds"], floor=floor_s,
                 note=f"{d['version']}; {summary[2]} of {summary[5]} chunks flagged (chunks, not keys)")
        total = d["checksum_seconds"] + d["sync_seconds"]
        self.add(point, PT_SYNC, total, floor=floor_s, seeded=seeded, found=set(d["keys"]),
                 status="timed out" if d["sync_timed_out"] else "ran",
                 note="; ".join(filter(None, [d["version"], d["sync_error"]])))
        common.say(f"  pt {d['checksum_seconds']:.2f}s + {d['sync_seconds']:.2f}s, "
                  f"missed {len(seeded - set(d['keys']))}")

    def _reladiff(self, point: Point, seeded: set[int], floor_s: float) -> None:
        common.say(f"  reladiff ({self.args.tool_timeout:.0f}s at most)")
        payload = {"endpoints": common.endpoints_json(self.endpoints), "threads": self.args.reladiff_threads}
        started = time.monotonic()
        try:
            figures = common.in_subprocess("--reladiff-worker", payload, timeout=self.args.tool_timeout)
        except subprocess.TimeoutExpired:
            self.add(point, RELADIFF, time.monotonic() - started, status="timed out", floor=floor_s,
                     note=f"gave up after {self.args.tool_timeout:.0f}s")
            return
        except RuntimeError as failed:
            self.add(point, RELADIFF, None, status="not run", note=f"not run: {failed}")
            return
        self.add(point, RELADIFF, figures["seconds"], floor=floor_s, seeded=seeded, found=set(figures["keys"]),
                 peak_rss_mb=figures["peak_rss_mb"], note=f"hashdiff, {self.args.reladiff_threads} thread(s) per DC")
        common.say(f"  reladiff {figures['seconds']:.2f}s, missed {len(seeded - set(figures['keys']))}")


# --- output ------------------------------------------------------------------------------------
STYLE = {CHECKER: ("#1f77b4", "o"), FLOOR: ("#7f7f7f", "s"), PT_SYNC: ("#d62728", "^"), RELADIFF: ("#2ca02c", "D"),
         BASELINE: ("#9ecae1", "x"), LANES: ("#17becf", "v")}


def plot(path: Path, records: list[dict], title: str) -> Path:
    """Seconds against rows per tool (log-log), one panel per difference count and spread; a timed-out run is
    drawn hollow at the time it was given up, a tool that did not run not at all."""
    from lab.results.plots.base import new_figure, save, styled

    @styled
    def draw() -> object:
        panels = sorted({(int(r["diffs"]), r["spread"]) for r in records})
        figure = new_figure(3.2 * min(4, len(panels)), 2.8 * -(-len(panels) // 4))
        figure.suptitle(title)
        for index, (diffs, spread) in enumerate(panels):
            axes = figure.add_subplot(-(-len(panels) // 4), min(4, len(panels)), index + 1)
            for tool, (color, marker) in STYLE.items():
                mine = sorted((int(r["rows"]), r["seconds"], r["status"]) for r in records
                              if r["tool"] == tool and int(r["diffs"]) == diffs and r["spread"] == spread
                              and r["seconds"] is not None)
                if not mine:
                    continue
                axes.plot([m[0] for m in mine], [m[1] for m in mine], color=color, marker=marker, label=tool)
                late = [m for m in mine if m[2] == "timed out"]
                axes.scatter([m[0] for m in late], [m[1] for m in late], s=60, facecolors="white", edgecolors=color,
                             zorder=3)
            axes.set_xscale("log")
            axes.set_yscale("log")
            axes.set_title(f"{diffs:,} differing, {spread}" if diffs else "nothing differing")
            axes.set_xlabel("rows")
            axes.set_ylabel("seconds")
            axes.grid(True, which="both", alpha=0.3)
            if index == 0:
                axes.legend()
        return figure

    return save(draw(), path)


# --- main ----------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flavor", default="mariadb:10.11")
    parser.add_argument("--sizes", default="100000,1000000", help="table sizes, comma-separated (10000000 allowed)")
    parser.add_argument("--diffs", default=",".join(map(str, DIFFS)), help="differing keys per point")
    parser.add_argument("--repeat", type=int, default=1, help="checker and floor runs per point (medians)")
    parser.add_argument("--tools", default="pt,reladiff", help="peers to run besides checker and floor: pt, reladiff")
    parser.add_argument("--percona-bin", help="directory of the percona-toolkit to use (default: the one on PATH)")
    parser.add_argument("--reladiff-threads", type=int, default=2)
    parser.add_argument("--parallel", type=int, default=2,
                        help="also time the checker in this many lanes (row 'checker lanes'; reladiff's threads "
                             "per DC by default); 1 leaves the row out")
    parser.add_argument("--tool-timeout", type=float, default=180.0, help="seconds a peer may take per point")
    parser.add_argument("--checker-tuning", default="{}", metavar="JSON",
                        help='lab.checker.Tuning fields for the checker, e.g. \'{"max_branches": 1}\' (A/B runs)')
    parser.add_argument("--baseline-tuning", metavar="JSON",
                        help="also time the checker with these Tuning fields (row 'checker baseline'), e.g. the "
                             "walk before sub-ranges: '{\"max_branches\": 1}'")
    parser.add_argument("--out", default=str(common.ROOT / "benchmarks" / "results"))
    parser.add_argument("--tag", default="", help="added to the output file names (to keep an A/B pair apart)")
    parser.add_argument("--lab", help="reuse this running lab (its data is replaced)")
    parser.add_argument("--keep", action="store_true", help="leave the lab running")
    args = parser.parse_args(argv)
    try:
        args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
        args.diff_list = [int(s) for s in args.diffs.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes and --diffs take whole numbers separated by commas, e.g. --sizes 100000,1000000")
    for option, text in (("--checker-tuning", args.checker_tuning), ("--baseline-tuning", args.baseline_tuning)):
        try:
            fields = None if text is None else json.loads(text)
            Tuning(**(fields or {}))
        except (ValueError, TypeError) as bad:
            parser.error(f"{option}: {bad}; give a JSON object of lab.checker.Tuning fields")
        setattr(args, "tuning" if option == "--checker-tuning" else "baseline", fields)
    args.tools = {t.strip() for t in args.tools.split(",") if t.strip()}
    if not args.tools <= {"pt", "reladiff"}:
        parser.error(f"--tools: unknown {', '.join(sorted(args.tools - {'pt', 'reladiff'}))}; use pt, reladiff")
    return args


def main() -> int:
    args = parse_args()
    date = time.strftime("%Y-%m-%d")
    slug = args.flavor.replace(":", "").replace(".", "")
    lab = common.open_lab(args.flavor, args.lab or f"chk-curve-{slug}", args.lab)
    started = time.monotonic()
    try:
        curves = Curves(lab, args, date)
        plan = rules.points(args.size_list, args.diff_list)
        for rows in args.size_list:
            curves.size(rows, [p for p in plan if p.rows == rows])
    finally:
        if not args.keep and not args.lab:
            lab.down()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dialect = lab.primary("dc1").dialect   # what ran, also with --lab (whatever --flavor says)
    slug = dialect.name + "".join(map(str, dialect.version[:2]))
    stem = out / "-".join(filter(None, ["checker-curves", slug, date, args.tag]))
    rules.write_csv(stem.with_suffix(".csv"), curves.records)
    stem.with_suffix(".stats.json").write_text(json.dumps(curves.checker_stats, indent=1))
    plot(stem.with_suffix(".png"), curves.records, f"{curves.flavor}: seconds per check, 2 DCs")
    print(f"\n{curves.flavor}, {date}, median of {args.repeat} (checker and floor), "
          f"{time.monotonic() - started:.0f}s in all")
    print(rules.table(curves.records))
    print()
    for verdict in rules.verdicts(curves.records):
        print(verdict.line())
    print(f"\nwrote {stem}.csv, .png and .stats.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
