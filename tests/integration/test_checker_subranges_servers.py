"""Hash-first chunks summed in sub-ranges (one UNION ALL query per DC), on real servers (both flavors).

A differing sub-range is listed or bisected on its own; the rest of its chunk is never read again.
These cases force many sub-ranges on a small table: differences at the very first and last keys,
missing rows, extra rows past the reference's last key and below its first, on sub-range edges,
and bisection batches smaller than the fanout. Every tuning must find exactly the seeded keys,
and the one-sub-range walk (the walk before sub-ranges) must agree with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lab.checker import Tuning, compare_table
from lab.checker.result import CheckResult
from lab.db.lab import Lab

ROWS = 3000   # ids 2, 4, ..., 6000: gaps everywhere, so arithmetic sub-ranges do not match row counts
SUB_RANGES = {
    "many sub-ranges, listed": Tuning(initial_rows=600, min_rows=100, max_rows=1200, sub_rows=10, max_branches=60,
                                      leaf_rows=50, adaptive_mode=False),
    "sub-ranges bisected in batches": Tuning(initial_rows=900, min_rows=900, max_rows=900, sub_rows=300,
                                             max_branches=3, fanout=8, leaf_rows=4, adaptive_mode=False),
    "adaptive, tiny sub-ranges": Tuning(initial_rows=200, sub_rows=5),
}
ONE_RANGE = Tuning(initial_rows=600, min_rows=100, max_rows=1200, max_branches=1, leaf_rows=50, adaptive_mode=False)


@pytest.fixture
def lab(lab_pool: Any, flavor: str) -> Iterator[Lab]:
    yield lab_pool.get("active-active", flavor, "ROW")


def check(lab: Lab, tuning: Tuning) -> CheckResult:
    return compare_table({dc: lab.primary(dc).endpoint for dc in lab.topology.dcs}, "lab.t", tuning=tuning)


def test_every_sub_range_tuning_finds_exactly_the_seeded_keys(lab: Lab) -> None:
    dc1, dc2 = lab.primary("dc1"), lab.primary("dc2")
    dc1.execute("CREATE TABLE lab.t (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL)",
                # two small recursions crossed: both servers stop a recursion at 1,000 steps by default
                "INSERT INTO lab.t WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 99) "
                f"SELECT 2 * (a.n * 100 + b.n + 1), CONCAT('value ', a.n * 100 + b.n + 1) FROM d a, d b "
                f"WHERE a.n * 100 + b.n < {ROWS}")
    assert lab.catch_up().caught_up
    dc2.execute("SET SESSION sql_log_bin = 0",
                "UPDATE lab.t SET v = 'changed' WHERE id IN (2, 20, 22, 1200, 1202, 3000, 6000)",
                "DELETE FROM lab.t WHERE id IN (602, 4444)",
                "INSERT INTO lab.t VALUES (1, 'below the first key'), (1201, 'in a gap'), (7001, 'past the end')")
    assert lab.catch_up().caught_up
    expected = {(2,): "values_differ", (20,): "values_differ", (22,): "values_differ", (1200,): "values_differ",
                (1202,): "values_differ", (3000,): "values_differ", (6000,): "values_differ", (602,): "missing",
                (4444,): "missing", (1,): "extra", (1201,): "extra", (7001,): "extra"}
    before = check(lab, ONE_RANGE)
    assert {d.key: d.kind for d in before.divergences} == expected
    for name, tuning in SUB_RANGES.items():
        result = check(lab, tuning)
        assert {d.key: d.kind for d in result.divergences} == expected, name
        assert result.stats["rows_scanned"] == before.stats["rows_scanned"], name   # every row, once, at the top
    listed = check(lab, SUB_RANGES["many sub-ranges, listed"])
    # sub-ranges of ~10 rows go straight to listing; one range per chunk needed bisection to get there
    assert listed.stats["bisections"] == 0 < before.stats["bisections"]
    assert check(lab, SUB_RANGES["sub-ranges bisected in batches"]).stats["bisections"] > 0
