"""The pure logic of benchmarks/bench_checker_curves.py, without an engine: which points it measures, the
targets' verdicts with how far each was missed, the CSV it writes, and the SQL it seeds and undoes data with.

The benchmark is a script, not part of the package, so it is imported by path (as a user runs it).
"""

from __future__ import annotations

import csv
from pathlib import Path
from types import ModuleType

import pytest
from conftest import load_benchmark

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def curves() -> ModuleType:
    return load_benchmark("bench_checker_curves")


@pytest.fixture(scope="module")
def rules(curves: ModuleType) -> ModuleType:
    """Its pure half (curves_verdicts.py), as the benchmark imported it."""
    return curves.rules


def measured(rules: ModuleType, rows: int, diffs: int, checker: float, floor: float, *, spread: str = "random",
             missed: int = 0, peers: dict[str, float | None] | None = None, rss: float = 100.0) -> list[dict]:
    """The rows one point leaves in the CSV: floor, checker (missing `missed` of the seeded keys), peers."""
    point = rules.Point(rows, diffs, spread if diffs else "none")
    seeded = set(range(diffs))
    found = set(range(missed, diffs))
    rows_ = [rules.record("MariaDB 10.11", point, rules.FLOOR, floor, floor=floor),
             rules.record("MariaDB 10.11", point, rules.CHECKER, checker, floor=floor, seeded=seeded, found=found,
                          peak_rss_mb=rss)]
    for tool, seconds in (peers or {}).items():
        if seconds is None:
            rows_.append(rules.record("MariaDB 10.11", point, tool, None, status="not run",
                                      note="not run: 3.7.1 rejects MariaDB"))
        else:
            rows_.append(rules.record("MariaDB 10.11", point, tool, seconds, floor=floor, seeded=seeded,
                                      found=seeded))
    return rows_


def test_points_skip_counts_not_below_the_size_and_measure_nothing_differing_once(rules: ModuleType) -> None:
    plan = rules.points([100_000, 1_000_000])
    small = [(p.diffs, p.spread) for p in plan if p.rows == 100_000]
    assert small == [(0, "none"), (10, "random"), (10, "clustered"), (1000, "random"), (1000, "clustered")]
    large = [(p.diffs, p.spread) for p in plan if p.rows == 1_000_000]
    assert (100_000, "random") in large and (100_000, "clustered") in large and len(large) == 7
    assert [p.diffs for p in rules.points([10], [0, 10, 11])] == [0]   # 10 of 10 rows cannot all differ and stay


def test_speed_limit_is_1_2_up_to_one_percent_2_up_to_ten_and_none_beyond(rules: ModuleType) -> None:
    assert rules.speed_limit(100_000, 1000) == 1.2
    assert rules.speed_limit(100_000, 1001) == 2.0
    assert rules.speed_limit(1_000_000, 100_000) == 2.0
    assert rules.speed_limit(1_000_000, 100_001) is None


def test_floor_verdict_names_the_worst_miss_in_floors_and_seconds(rules: ModuleType) -> None:
    records = (measured(rules, 1_000_000, 1000, checker=3.3, floor=2.0)        # 1.65x against 1.2x
               + measured(rules, 100_000, 10, checker=0.26, floor=0.25)        # 1.04x: fine
               + measured(rules, 1_000_000, 100_000, checker=4.4, floor=2.0)   # 2.2x against 2x
               + measured(rules, 1_000_000, 500_000, checker=9.0, floor=2.0))  # 50 %: no target
    verdict = rules.floor_verdict(records)
    assert verdict.met is False
    assert "missed at 2 of 3 points" in verdict.detail
    assert "1.65x against 1.2x at 1,000,000 rows, 1,000 differing random" in verdict.detail
    assert "over by 0.45x (0.90 s)" in verdict.detail              # 3.3 s - 1.2 * 2.0 s
    fine = rules.floor_verdict(measured(rules, 100_000, 10, checker=0.26, floor=0.25))
    assert fine.met is True and "1.04x" in fine.detail


def test_peer_verdict_needs_every_point_faster_and_no_missed_key(rules: ModuleType) -> None:
    faster = measured(rules, 1_000_000, 1000, 3.0, 2.5, peers={rules.RELADIFF: 45.0})
    assert rules.peer_verdict(faster, rules.RELADIFF).met is True
    slower = faster + measured(rules, 100_000, 10, 0.5, 0.25, peers={rules.RELADIFF: 0.4})
    verdict = rules.peer_verdict(slower, rules.RELADIFF)
    assert verdict.met is False and "missed at 1 of 2 points" in verdict.detail
    assert "slower by 0.10 s (1.25x)" in verdict.detail
    missing = measured(rules, 1_000_000, 1000, 3.0, 2.5, missed=6, peers={rules.RELADIFF: 45.0})
    assert "the checker missed 6 keys" in rules.peer_verdict(missing, rules.RELADIFF).detail
    absent = measured(rules, 1_000_000, 1000, 3.0, 2.5, peers={rules.PT_SYNC: None})
    verdict = rules.peer_verdict(absent, rules.PT_SYNC)
    assert verdict.met is None and "3.7.1 rejects MariaDB" in verdict.detail


def test_lanes_get_verdicts_of_their_own_only_when_measured(rules: ModuleType) -> None:
    """The checker in lanes is judged on its own rows (against the floor and reladiff), beside the default one."""
    records = measured(rules, 1_000_000, 0, 2.8, 2.5, peers={rules.RELADIFF: 2.4})
    assert [v.target for v in rules.verdicts(records)][-1].startswith("checker peak RSS")
    point = rules.Point(1_000_000, 0, "none")
    records.append(rules.record("MySQL 9.7", point, rules.LANES, 2.2, floor=2.5, seeded=set(), found=set()))
    by_target = {v.target: v for v in rules.verdicts(records)}
    assert by_target["checker faster than reladiff, zero missed keys"].met is False
    assert by_target["checker lanes faster than reladiff, zero missed keys"].met is True
    assert by_target["checker lanes <= 1.2x floor at <= 1 % differing, <= 2x at 10 %"].met is True
    assert "checker lanes" in rules.table(records).splitlines()[0]


def test_a_peer_that_timed_out_counts_as_slower_than_its_time_so_far(rules: ModuleType) -> None:
    point = rules.Point(1_000_000, 100_000, "random")
    records = measured(rules, 1_000_000, 100_000, 6.0, 2.5)
    records.append(rules.record("MySQL 9.7", point, rules.RELADIFF, 180.2, status="timed out", floor=2.5))
    assert rules.peer_verdict(records, rules.RELADIFF).met is True


def test_rss_verdict_only_at_ten_million_rows(rules: ModuleType) -> None:
    assert rules.rss_verdict(measured(rules, 1_000_000, 10, 3.0, 2.5, rss=900)).met is None
    over = rules.rss_verdict(measured(rules, 10_000_000, 10, 30.0, 25.0, rss=250))
    assert over.met is False and "over by 50 MB" in over.detail
    assert rules.rss_verdict(measured(rules, 10_000_000, 10, 30.0, 25.0, rss=150)).met is True


def test_csv_has_the_documented_columns_and_empty_cells_for_what_did_not_run(rules: ModuleType,
                                                                               tmp_path: Path) -> None:
    records = measured(rules, 100_000, 10, 0.3, 0.25, missed=2, peers={rules.PT_SYNC: None})
    path = tmp_path / "rules.csv"
    rules.write_csv(path, records)
    with path.open() as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert tuple(reader.fieldnames or ()) == rules.COLUMNS
    checker = next(r for r in rows if r["tool"] == "checker")
    assert (checker["x_floor"], checker["missed"], checker["found_all"], checker["false_keys"]) == \
        ("1.2", "2", "False", "0")
    pt = next(r for r in rows if r["tool"] == rules.PT_SYNC)
    assert pt["status"] == "not run" and pt["seconds"] == "" and pt["note"].startswith("not run:")
    assert "not run" in rules.table(records)


def test_seeding_sql_regenerates_only_the_seeded_ids_per_block(curves: ModuleType) -> None:
    bench = curves.common
    whole = bench.generate_sql(2_500_000)
    assert len(whole) == 3 and "+ 2000000 AS r" in whole[2] and "r < 2500000" in whole[2]
    some = bench.generate_sql(2_500_000, [5, 1_000_001, 1_000_002])   # ids 5, 1000001 and 1000002: r = id - 1
    assert len(some) == 2
    assert "r IN (4)" in some[0] and "r IN (1000000,1000001)" in some[1]


def test_flagged_chunks_merge_into_runs_but_never_past_an_open_end(curves: ModuleType) -> None:
    chunks = [{"chunk": 1, "lo": 1, "hi": 10}, {"chunk": 2, "lo": 11, "hi": 20}, {"chunk": 4, "lo": 31, "hi": 40},
              {"chunk": 5, "lo": None, "hi": None}]
    assert curves.percona_peer.merge_chunks(chunks) == [
        {"chunk": 2, "lo": 1, "hi": 20}, {"chunk": 4, "lo": 31, "hi": 40}, {"chunk": 5, "lo": None, "hi": None}]
