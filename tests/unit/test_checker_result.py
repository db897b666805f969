"""DataFrames of a check, and the before/after report built from two checks."""

from __future__ import annotations

from lab.checker.divergences import Divergence
from lab.checker.healing import compare_checks, summary
from lab.checker.result import CheckResult

BIG = 2**63 + 5


def result(divergences: list[Divergence]) -> CheckResult:
    return CheckResult("lab.t", ["dc1", "dc2"], ["id"], ["id", "v", "n"], divergences,
                       {"dc1": "1-1-5", "dc2": "1-1-5"}, {"seconds": 0.1})


def diverged(key: int, kind: str, dc1: dict | None, dc2: dict | None, columns: tuple[str, ...]) -> Divergence:
    dcs = ("dc2",)
    return Divergence(str(key), (key,), kind, dcs, {"dc1": dc1, "dc2": dc2}, columns)  # type: ignore[arg-type]


SAMPLE = [
    diverged(1, "values_differ", {"id": 1, "v": "a", "n": BIG}, {"id": 1, "v": "A", "n": BIG}, ("v",)),
    diverged(2, "missing", {"id": 2, "v": None, "n": 7}, None, ("v", "n")),
    diverged(3, "extra", None, {"id": 3, "v": "", "n": None}, ("v", "n")),
]


def test_rows_frame_has_one_row_per_key_and_every_dc_column() -> None:
    frame = result(SAMPLE).rows
    assert list(frame.columns) == ["id", "kind", "dcs", "dc1.present", "dc1.id", "dc1.v", "dc1.n",
                                   "dc2.present", "dc2.id", "dc2.v", "dc2.n"]
    assert frame["kind"].tolist() == ["values_differ", "missing", "extra"]
    assert frame["dc2.present"].tolist() == [True, False, True]
    assert frame.loc[0, "dc1.n"] == BIG and isinstance(frame.loc[0, "dc1.n"], int)  # never through float
    assert frame.loc[1, "dc2.v"] is None and frame.loc[2, "dc2.v"] == ""


def test_differences_long_form() -> None:
    frame = result(SAMPLE).differences
    assert list(frame.columns) == ["id", "column", "kind", "dc1", "dc2"]
    assert frame[["id", "column", "kind"]].values.tolist() == [
        [1, "v", "values_differ"], [2, "v", "missing"], [2, "n", "missing"], [3, "v", "extra"], [3, "n", "extra"]]
    assert frame.iloc[0][["dc1", "dc2"]].tolist() == ["a", "A"]


def test_in_sync_result_and_summary() -> None:
    empty = result([])
    assert empty.in_sync and empty.rows.empty and empty.differences.empty
    assert "in sync" in empty.summary()
    assert result(SAMPLE).counts() == {"values_differ": 1, "missing": 1, "extra": 1}
    assert "3 diverged key(s)" in result(SAMPLE).summary()


def test_before_after_report() -> None:
    before = result(SAMPLE[:2])
    after = result([SAMPLE[1], SAMPLE[2]])
    frame = compare_checks(before, after)
    assert frame[["id", "status"]].values.tolist() == [[1, "healed"], [2, "still_diverged"], [3, "newly_diverged"]]
    assert summary(frame) == {"healed": 1, "still_diverged": 1, "newly_diverged": 1}
    assert summary(compare_checks(result([]), result([]))) == {"healed": 0, "still_diverged": 0, "newly_diverged": 0}
