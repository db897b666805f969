"""Repair planning: winner policies, per-DC statements for local mode, idempotent ones for source mode."""

from __future__ import annotations

import datetime

import pytest

from lab.checker.divergences import Divergence
from lab.checker.repair import Policy, plan, winner
from lab.checker.result import CheckResult
from lab.errors import LabError

T1 = datetime.datetime(2024, 1, 1, 10, 0)
T2 = datetime.datetime(2024, 1, 1, 11, 0)


def diverged(key: int, kind: str, rows: dict) -> Divergence:
    return Divergence(str(key), (key,), kind, ("dc2",), rows, ("v", "ver", "ts"))  # type: ignore[arg-type]


def row(key: int, v: object, ver: int = 1, ts: datetime.datetime = T1) -> dict:
    return {"id": key, "v": v, "ver": ver, "ts": ts}


def result(divergences: list[Divergence], dcs: tuple[str, ...] = ("dc1", "dc2")) -> CheckResult:
    return CheckResult("lab.t", list(dcs), ["id"], ["id", "v", "ver", "ts"], divergences,
                       dict.fromkeys(dcs, ""), tables={dc: "lab.t" for dc in dcs})


CHANGED = diverged(1, "values_differ", {"dc1": row(1, "a", 1, T2), "dc2": row(1, "b", 2, T1)})
MISSING = diverged(2, "missing", {"dc1": row(2, None), "dc2": None})
EXTRA = diverged(3, "extra", {"dc1": None, "dc2": row(3, b"\x00")})


def test_policy_parsing() -> None:
    assert Policy.parse("dc=dc1") == Policy("dc", "dc1")
    assert str(Policy.parse(" Version = ver ")) == "version=ver"
    for bad in ("dc1", "newest=ts", "dc="):
        with pytest.raises(LabError):
            Policy.parse(bad)


def test_winners() -> None:
    dcs = ["dc1", "dc2"]
    assert winner(CHANGED, Policy("dc", "dc2"), dcs) == "dc2"
    assert winner(CHANGED, Policy("version", "ver"), dcs) == "dc2"
    assert winner(CHANGED, Policy("timestamp", "ts"), dcs) == "dc1"
    assert winner(EXTRA, Policy("version", "ver"), dcs) == "dc2"             # present beats absent
    tie = diverged(4, "values_differ", {"dc1": row(4, "x", 3), "dc2": row(4, "y", 3)})
    assert winner(tie, Policy("version", "ver"), dcs) == "dc1"               # ties: earlier DC
    nulls = diverged(5, "values_differ", {"dc1": row(5, "x", None), "dc2": row(5, "y", 1)})  # type: ignore[arg-type]
    assert winner(nulls, Policy("version", "ver"), dcs) == "dc2"


def test_plan_with_a_named_winner_deletes_what_it_lacks() -> None:
    repair = plan(result([CHANGED, MISSING, EXTRA]), Policy("dc", "dc1"))
    assert [(f.key, f.target, f.action) for f in repair.fixes] == [
        ((1,), "dc2", "update"), ((2,), "dc2", "insert"), ((3,), "dc2", "delete")]
    statements = repair.local_statements()["dc2"]
    assert statements == [
        "DELETE FROM `lab`.`t` WHERE `id` = 3",
        "UPDATE `lab`.`t` SET `v` = 'a', `ver` = 1, `ts` = '2024-01-01 11:00:00' WHERE `id` = 1",
        "INSERT INTO `lab`.`t` (`id`, `v`, `ver`, `ts`) VALUES (2, NULL, 1, '2024-01-01 10:00:00')",
    ]


def test_plan_with_version_policy_changes_both_sides() -> None:
    repair = plan(result([CHANGED, EXTRA]), Policy("version", "ver"))
    assert [(f.key, f.target, f.action) for f in repair.fixes] == [((1,), "dc1", "update"), ((3,), "dc1", "insert")]
    assert "X'00'" in repair.local_statements()["dc1"][1]


def test_source_statements_are_idempotent_upserts_and_deletes() -> None:
    repair = plan(result([CHANGED, MISSING, EXTRA]), Policy("dc", "dc1"))
    statements = repair.source_statements("dc1")
    assert statements[0] == "DELETE FROM `lab`.`t` WHERE `id` = 3"
    assert statements[1].startswith("INSERT INTO `lab`.`t` (`id`, `v`, `ver`, `ts`) VALUES (1, 'a', 1, ")
    assert statements[1].endswith("ON DUPLICATE KEY UPDATE `v` = 'a', `ver` = 1, `ts` = '2024-01-01 11:00:00'")
    assert len(statements) == 3


def test_render_states_the_mode() -> None:
    repair = plan(result([CHANGED]), Policy("dc", "dc1"))
    local = repair.render("local")
    assert "mode: local, on each DC with sql_log_bin=0" in local and "SET SESSION sql_log_bin = 0;" in local
    source = repair.render("source", "dc1")
    assert "through the source dc1" in source and "SET SESSION binlog_format = 'STATEMENT';" in source
    assert "time_zone = '+00:00'" in source
    assert "nothing to do" in plan(result([]), Policy("dc", "dc1")).render("local")


def test_plan_rejects_unknown_winner() -> None:
    with pytest.raises(LabError, match="no DC"):
        plan(result([CHANGED]), Policy("dc", "dc9"))
    with pytest.raises(LabError, match="no column"):
        plan(result([CHANGED]), Policy("version", "nope"))


def test_a_version_tie_with_different_rows_is_reported_not_hidden() -> None:
    """Counter versions collide across DCs (both wrote version 2): version-based repair cannot order them."""
    collided = diverged(4, "values_differ", {"dc1": row(4, "from dc1", 2), "dc2": row(4, "from dc2", 2)})
    repair = plan(result([collided, CHANGED]), Policy.parse("version=ver"))
    assert repair.ties == [(4,)]
    assert repair.winners[(4,)] == "dc1"  # by check order, which is all a tie leaves
    assert "tie on ver" in repair.tie_warning() and "4" in repair.tie_warning()
    assert repair.render("local").splitlines()[1].startswith("-- WARNING: 1 key(s) tie on ver")
    assert plan(result([CHANGED]), Policy.parse("version=ver")).ties == []
    assert plan(result([collided]), Policy.parse("dc=dc2")).ties == []  # a named winner is a decision, not a tie
