"""Hash-first chunks summed in sub-ranges: how many, the one-query SQL, and which key spaces can cut them for free.

The walk itself (that every difference is still found) runs on real servers in
tests/integration/test_checker_branches.py.
"""

from __future__ import annotations

import pytest

from lab.checker.keyspace import IndexSpace, IntegerSpace
from lab.checker.planner import Tuning, branches
from lab.checker.schema import Column, TableRef, TableSchema
from lab.checker.sqlgen import (
    KeyRange,
    chunk_hash_sql,
    chunk_hashes_sql,
    digest_sql,
    digests_sql,
    range_predicate,
    row_hash,
)

REF = TableRef("lab", "t")
ID = Column("id", "int", False)
NAME = Column("name", "varchar", True, "utf8mb4", "utf8mb4_general_ci")
SCHEMA = TableSchema(REF, (ID, NAME), (ID,))


def test_a_chunk_gets_one_sub_range_per_sub_rows_up_to_max_branches() -> None:
    tuning = Tuning()
    assert branches(999, tuning) == 1            # a first, small chunk: one plain range
    assert branches(5000, tuning) == 5
    assert branches(512_000, tuning) == 256      # capped: 2,000 rows each
    assert branches(512_000, Tuning(max_branches=1)) == 1
    assert branches(100, Tuning(sub_rows=10, max_branches=60)) == 10


def test_sub_range_knobs_are_validated() -> None:
    with pytest.raises(ValueError):
        Tuning(sub_rows=0)
    with pytest.raises(ValueError):
        Tuning(max_branches=0)


def test_one_query_sums_every_range_with_the_same_row_hash_and_numbers_them() -> None:
    ranges = [KeyRange(None, (10,)), KeyRange((10,), (20,)), KeyRange((20,), None)]
    sql = chunk_hashes_sql(SCHEMA, REF, ranges)
    branches_sql = sql.split(" UNION ALL ")
    assert len(branches_sql) == 3
    for i, (branch, key_range) in enumerate(zip(branches_sql, ranges, strict=True)):
        assert branch.startswith(f"SELECT {i} AS i, COUNT(*) AS n, SUM(CAST(CONV({row_hash(SCHEMA)}, 16, 10)")
        assert branch.endswith(f"FORCE INDEX (PRIMARY) WHERE {range_predicate(SCHEMA, key_range)}")
    # the single-range query sums exactly the same thing
    single = chunk_hash_sql(SCHEMA, REF, ranges[1])
    assert single.removeprefix("SELECT ") in branches_sql[1]


def test_one_query_lists_several_ranges_each_as_its_own_digest_and_numbers_them() -> None:
    ranges = [KeyRange((1,), (5,)), KeyRange((40,), (44,)), KeyRange((90,), None)]
    branches_sql = digests_sql(SCHEMA, REF, ranges).split(" UNION ALL ")
    assert len(branches_sql) == 3
    for i, (branch, key_range) in enumerate(zip(branches_sql, ranges, strict=True)):
        assert branch == f"SELECT {i} AS i, " + digest_sql(SCHEMA, REF, key_range).removeprefix("SELECT ")


def test_only_integer_key_spaces_split_without_queries() -> None:
    assert IntegerSpace.cheap_split and not IndexSpace.cheap_split
    space = IntegerSpace(1, 10_000, 1.0, 8.0)
    parts = space.split(KeyRange((1,), (2001,)), {"dc1": 2000}, branches(2000, Tuning(sub_rows=500)))
    assert [(p.lo, p.hi) for p in parts] == [((1,), (501,)), ((501,), (1001,)), ((1001,), (1501,)),
                                             ((1501,), (2001,))]


def test_the_last_chunk_is_cut_in_sub_ranges_for_the_rows_it_holds_not_for_a_full_chunk() -> None:
    space = IntegerSpace(1, 10_000, 0.5, 8.0)            # one row every other key
    assert space.rows_in(KeyRange((9001,), None)) == 500  # keys 9001..10000
    assert space.rows_in(KeyRange(None, (101,))) == 50
    assert IntegerSpace(None, None, 1.0, 8.0).rows_in(KeyRange()) is None   # empty table
    assert IndexSpace(None, None, None).rows_in(KeyRange()) is None         # type: ignore[arg-type]
