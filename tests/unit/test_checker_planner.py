"""Chunk sizing toward a time target, hash-first vs digest-first switching, and integer key spaces."""

from __future__ import annotations

import pytest

from lab.checker.keyspace import IntegerSpace
from lab.checker.planner import ChunkSizer, ModeChooser, Tuning, digest_row_cap, split_step
from lab.checker.sqlgen import KeyRange


def test_sizer_converges_to_the_rows_that_fit_the_time_target() -> None:
    sizer = ChunkSizer(0.5, Tuning())
    for _ in range(10):
        sizer.observe(sizer.size, sizer.size / 200_000)  # 200k rows/s
    assert sizer.size == 100_000


def test_sizer_growth_and_shrinkage_are_bounded_per_chunk() -> None:
    sizer = ChunkSizer(0.5, Tuning(initial_rows=1000, max_growth=8))
    assert sizer.observe(1000, 0.0001) == 8000           # way too fast: grow, but only 8x
    assert sizer.observe(8000, 100.0) == 1000            # way too slow: shrink, but only 8x
    assert sizer.observe(0, 0.0) == 8000                 # an empty chunk says nothing: grow


def test_sizer_respects_limits() -> None:
    sizer = ChunkSizer(0.5, Tuning(min_rows=100, initial_rows=100, max_rows=500))
    for _ in range(5):
        sizer.observe(sizer.size, 1e-6)
    assert sizer.size == 500
    for _ in range(5):
        sizer.observe(sizer.size, 1e3)
    assert sizer.size == 100
    assert ChunkSizer(0.5, Tuning(), cap=300).size == 300


def test_tuning_validation() -> None:
    with pytest.raises(ValueError):
        Tuning(fanout=1)
    with pytest.raises(ValueError):
        Tuning(min_rows=10, initial_rows=5)


def test_mode_switches_on_density_with_hysteresis() -> None:
    modes = ModeChooser(Tuning())
    assert modes.observe(rows=10_000, differing=0, next_size=80_000) == "hash"
    assert modes.observe(rows=10_000, differing=1, next_size=80_000) == "digest"   # expects 8 per chunk
    assert modes.observe(rows=80_000, differing=1, next_size=80_000) == "digest"   # 1 expected: stays
    assert modes.observe(rows=80_000, differing=0, next_size=80_000) == "hash"     # none: back
    assert modes.switches == 2


def test_mode_can_be_pinned() -> None:
    modes = ModeChooser(Tuning(start_mode="digest", adaptive_mode=False))
    assert modes.observe(rows=100, differing=0, next_size=100) == "digest"


def test_split_step_and_digest_cap() -> None:
    assert split_step(10, 4) == 3 and split_step(0, 4) == 1
    assert digest_row_cap(16 * 1024 * 1024, 20, 10**9) == int(16 * 1024 * 1024 * 0.4) // 38
    assert digest_row_cap(1024, 20, 10**9) == 100
    assert digest_row_cap(64 * 1024 * 1024, 20, 100_000) == 100_000   # the memory bound, below the packet's
    assert digest_row_cap(1024, 20, 50) == 50


def test_integer_space_cuts_by_density_and_covers_everything() -> None:
    space = IntegerSpace(low=1, high=1000, density=0.5, growth=8)
    assert space.next_cut(None, 100) == (201,)
    space.observe(KeyRange(None, (201,)), 200)                             # denser than estimated
    assert space.next_cut((201,), 100) == (301,)
    assert space.next_cut((990,), 100) is None                             # the last range is open
    space.observe(KeyRange((301,), (401,)), 0)                             # empty: look further next time
    assert space.next_cut((401,), 10) == (481,)                            # 10 rows now span 80 keys


def test_integer_space_split_and_empty_table() -> None:
    space = IntegerSpace(low=0, high=99, density=1.0, growth=8)
    parts = space.split(KeyRange(None, None), {"dc1": 100}, 4)
    assert [(p.lo, p.hi) for p in parts] == [(None, (25,)), ((25,), (50,)), ((50,), (75,)), ((75,), None)]
    assert space.split(KeyRange((5,), (6,)), {"dc1": 1}, 4) == [KeyRange((5,), (6,))]
    empty = IntegerSpace(low=None, high=None, density=1.0, growth=8)
    assert empty.next_cut(None, 1000) is None
    assert empty.split(KeyRange(), {"dc1": 0}, 4) == [KeyRange()]


def test_integer_space_shrinks_a_chunk_the_optimizer_expects_to_be_far_too_big() -> None:
    # sparse keys so far (1 row per 1000 keys), but the optimizer sees a dense region ahead
    dense_from = 10_000

    def estimate(key_range: KeyRange) -> int:
        end = key_range.hi[0]
        return max(0, end - dense_from)

    space = IntegerSpace(low=1, high=10_000_000, density=0.001, growth=8, estimate=estimate)
    cut = space.next_cut((5_000,), 100)
    assert cut is not None and cut[0] - dense_from <= 4 * 100 and space.shrunk > 0
    # a 2x overestimate (normal for InnoDB) is left alone
    relaxed = IntegerSpace(low=1, high=10_000_000, density=1.0, growth=8, estimate=lambda r: 2 * (r.hi[0] - 1))
    assert relaxed.next_cut((1,), 100) == (101,) and relaxed.shrunk == 0
