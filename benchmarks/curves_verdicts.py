"""The pure half of bench_checker_curves.py: which points to measure, the CSV rows, the targets' verdicts
(with how far a missed one was missed) and the printed table. No server, no engine: tests/unit/test_bench_curves.py
checks all of it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DIFFS = (0, 10, 1000, 100_000)
SPREADS = ("random", "clustered")
CHECKER, FLOOR, PT_CHECKSUM, PT_SYNC, RELADIFF = "checker", "floor", "pt-table-checksum", "pt-table-checksum+sync", \
    "reladiff"
BASELINE = "checker baseline"   # the checker with other Tuning (--baseline-tuning), for A/B runs
LANES = "checker lanes"         # the checker with --parallel lanes (several queries per server at once)
TOOLS = (CHECKER, FLOOR, PT_CHECKSUM, PT_SYNC, RELADIFF, BASELINE, LANES)
COLUMNS = ("date", "flavor", "rows", "diffs", "spread", "tool", "status", "seconds", "x_floor", "found_all",
           "missed", "false_keys", "peak_rss_mb", "note")
RSS_LIMIT_MB, RSS_AT_ROWS = 200, 10_000_000


@dataclass(frozen=True)
class Point:
    rows: int
    diffs: int
    spread: str   # "random", "clustered", or "none" when nothing differs

    @property
    def label(self) -> str:
        return f"{self.rows:,} rows, " + (f"{self.diffs:,} differing {self.spread}" if self.diffs else "none differing")


def points(sizes: Iterable[int], diffs: Iterable[int] = DIFFS, spreads: Iterable[str] = SPREADS) -> list[Point]:
    """Every (size, differing keys, spread) to measure: counts not below the size are impossible and skipped,
    and 0 differences is one point per size (a spread of nothing is nothing)."""
    plan = []
    for rows in sizes:
        for count in diffs:
            if count >= rows:
                continue
            plan += [Point(rows, 0, "none")] if count == 0 else [Point(rows, count, s) for s in spreads]
    return plan


def speed_limit(rows: int, diffs: int) -> float | None:
    """The checker's target in floors: 1.2 with at most 1 % of rows differing, 2 up to 10 %, none beyond."""
    share = diffs / rows
    return 1.2 if share <= 0.01 else 2.0 if share <= 0.10 else None


@dataclass(frozen=True)
class Verdict:
    target: str
    met: bool | None    # None: not measured
    detail: str

    def line(self) -> str:
        word = {True: "met", False: "MISSED", None: "not measured"}[self.met]
        return f"{self.target}: {word}; {self.detail}"


def by_point(records: list[dict]) -> dict[Point, dict[str, dict]]:
    grouped: dict[Point, dict[str, dict]] = {}
    for r in records:
        grouped.setdefault(Point(int(r["rows"]), int(r["diffs"]), r["spread"]), {})[r["tool"]] = r
    return grouped


def _ran(record: dict | None) -> bool:
    return record is not None and record["status"] in ("ran", "timed out") and record["seconds"] is not None


def floor_verdict(records: list[dict], tool: str = CHECKER) -> Verdict:
    target = f"{tool} <= 1.2x floor at <= 1 % differing, <= 2x at 10 %"
    checks = []
    for point, tools in by_point(records).items():
        limit = speed_limit(point.rows, point.diffs)
        checker, floor = tools.get(tool), tools.get(FLOOR)
        if limit is not None and _ran(checker) and _ran(floor):
            checks.append((point, checker["seconds"] / floor["seconds"], limit, checker["seconds"], floor["seconds"]))
    if not checks:
        return Verdict(target, None, "no point with both figures")
    misses = [c for c in checks if c[1] > c[2]]
    if not misses:
        point, ratio, limit, _, _ = max(checks, key=lambda c: c[1] / c[2])
        return Verdict(target, True, f"all {len(checks)} points; closest {ratio:.2f}x (limit {limit}x) "
                                     f"at {point.label}")
    point, ratio, limit, a, b = max(misses, key=lambda c: c[1] - c[2])
    return Verdict(target, False, f"missed at {len(misses)} of {len(checks)} points; worst {ratio:.2f}x against "
                                  f"{limit}x at {point.label}: over by {ratio - limit:.2f}x ({a - limit * b:.2f} s)")


def peer_verdict(records: list[dict], peer: str, tool: str = CHECKER) -> Verdict:
    """Faster than `peer` at every point where the peer ran, and the checker missing no key there."""
    target = f"{tool} faster than {peer}, zero missed keys"
    compared, misses, why = 0, [], ""
    for point, tools in by_point(records).items():
        checker, other = tools.get(tool), tools.get(peer)
        if not _ran(other) or not _ran(checker):
            why = why or (other or {}).get("note", "")
            continue
        compared += 1
        if checker["missed"]:
            misses.append((point, f"the checker missed {checker['missed']} keys"))
        elif checker["seconds"] >= other["seconds"]:
            misses.append((point, f"{checker['seconds']:.2f} s against {other['seconds']:.2f} s: slower by "
                                  f"{checker['seconds'] - other['seconds']:.2f} s "
                                  f"({checker['seconds'] / other['seconds']:.2f}x)"))
    if not compared:
        return Verdict(target, None, why or "no point measured")
    if not misses:
        return Verdict(target, True, f"all {compared} points")
    point, detail = misses[0]
    return Verdict(target, False, f"missed at {len(misses)} of {compared} points; first at {point.label}: {detail}")


def rss_verdict(records: list[dict]) -> Verdict:
    target = f"checker peak RSS < {RSS_LIMIT_MB} MB at {RSS_AT_ROWS:,} rows"
    peaks = [r["peak_rss_mb"] for r in records if r["tool"] == CHECKER and int(r["rows"]) >= RSS_AT_ROWS
             and r["peak_rss_mb"] is not None]
    if not peaks:
        return Verdict(target, None, f"{RSS_AT_ROWS:,} rows not run")
    peak = max(peaks)
    if peak < RSS_LIMIT_MB:
        return Verdict(target, True, f"peak {peak:.0f} MB")
    return Verdict(target, False, f"peak {peak:.0f} MB: over by {peak - RSS_LIMIT_MB:.0f} MB")


def verdicts(records: list[dict]) -> list[Verdict]:
    """The targets for the checker as it runs by default (one query per server at a time), and, where the run
    measured it, again for the checker in lanes (as many queries per server as reladiff's threads)."""
    found = [floor_verdict(records), peer_verdict(records, RELADIFF), peer_verdict(records, PT_SYNC),
             rss_verdict(records)]
    if any(r["tool"] == LANES for r in records):
        found += [floor_verdict(records, LANES), peer_verdict(records, RELADIFF, LANES)]
    return found


def record(flavor: str, point: Point, tool: str, seconds: float | None, *, status: str = "ran",
           floor: float | None = None, seeded: set[int] | None = None, found: set[int] | None = None,
           peak_rss_mb: float | None = None, note: str = "", date: str = "") -> dict:
    """One CSV row: the tool's figure at the point, its ratio to the floor, and how many seeded keys it missed."""
    missed = len(seeded - found) if seeded is not None and found is not None else None
    false_keys = len(found - seeded) if seeded is not None and found is not None else None
    return {"date": date, "flavor": flavor, "rows": point.rows, "diffs": point.diffs, "spread": point.spread,
            "tool": tool, "status": status, "seconds": None if seconds is None else round(seconds, 3),
            "x_floor": round(seconds / floor, 3) if seconds is not None and floor else None,
            "found_all": None if missed is None else missed == 0, "missed": missed, "false_keys": false_keys,
            "peak_rss_mb": None if peak_rss_mb is None else round(peak_rss_mb, 1), "note": note}


def write_csv(path: Path, records: list[dict]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({c: "" if r[c] is None else r[c] for c in COLUMNS} for r in records)



def _cell(tools: dict[str, dict], tool: str) -> str:
    r = tools.get(tool)
    if r is None or r["seconds"] is None:
        return f"{'not run':>22}"
    late = ">" if r["status"] == "timed out" else " "
    missed = "" if r["missed"] is None else f" m{r['missed']}"
    return f"{late}{r['seconds']:7.2f} {r['x_floor'] or 0:6.2f}x{missed:>7}"


def table(records: list[dict]) -> str:
    """Plain text: per point the floor, then each tool's seconds, ratio to the floor and keys missed (m)."""
    extra = [tool for tool in (BASELINE, LANES) if any(r["tool"] == tool for r in records)]
    head = (f"{'rows':>10} {'diffs':>7} {'spread':9} {'floor s':>8} | {'checker s, x floor, missed':>22} "
            f"{'RSS MB':>6} | {'pt+sync':>22} | {'reladiff':>22}")
    head += "".join(f" | {tool:>22}" for tool in extra)
    lines = [head, "-" * len(head)]
    for point, tools in by_point(records).items():
        floor = tools.get(FLOOR, {}).get("seconds")
        rss = tools.get(CHECKER, {}).get("peak_rss_mb")
        lines.append(f"{point.rows:>10,} {point.diffs:>7,} {point.spread:9} {floor or 0:8.2f} | "
                     f"{_cell(tools, CHECKER)} {rss or 0:6.0f} | {_cell(tools, PT_SYNC)} | {_cell(tools, RELADIFF)}"
                     + "".join(f" | {_cell(tools, tool)}" for tool in extra))
    notes = sorted({r["note"] for r in records if r["status"] == "not run"})
    return "\n".join(lines + [f"  {n}" for n in notes])
