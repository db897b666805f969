"""`lab run --shard K/N`: N deterministic slices that cover the selection exactly once."""

from __future__ import annotations

import pytest

from lab import experiments
from lab.errors import LabError
from lab.runner import parse_shard, plan
from lab.runner.matrix import shard_slice


@pytest.mark.parametrize("size", [0, 1, 2, 3, 7, 10, 216])
@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_slices_cover_every_cell_once(size: int, count: int) -> None:
    cells = [{"n": str(i)} for i in range(size)]
    slices = [shard_slice(cells, k, count) for k in range(1, count + 1)]
    assert [cell for part in slices for cell in part] == cells
    assert max(map(len, slices)) - min(map(len, slices)) <= 1


def test_shards_of_a_shipped_matrix_cover_it_and_do_not_overlap() -> None:
    only = experiments.parse_only(["mode=deterministic"])
    whole = [experiments.cell_id(c) for c in plan("wix-incident", only).cells]
    parts = [[experiments.cell_id(c) for c in plan("wix-incident", only, (k, 3)).cells] for k in (1, 2, 3)]
    joined = [cell for part in parts for cell in part]
    assert joined == whole                                    # every cell once, in run order: shard 1 first
    assert plan("wix-incident", only, (2, 3)).shard_meta()["all_cells"] == whole
    assert parts == [[experiments.cell_id(c) for c in plan("wix-incident", only, (k, 3)).cells] for k in (1, 2, 3)]


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "-1/2"])
def test_a_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(LabError, match="--shard"):
        parse_shard(text)
