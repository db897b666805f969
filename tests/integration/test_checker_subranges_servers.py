"""Hash-first chunks summed in sub-ranges (one UNION ALL query per DC), on real servers (both flavors).

A differing sub-range is listed or bisected on its own; the rest of its chunk is never read again.
These cases force many sub-ranges on a small table: differences at the very first and last keys,
missing rows, extra rows past the reference's last key and below its first, on sub-range edges,
and bisection batches smaller than the fanout. Every tuning must find exactly the seeded keys,
and the one-sub-range walk (the walk before sub-ranges) must agree with it.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from lab.checker import Tuning, compare_table
from lab.checker.result import CheckResult
from lab.checker.session import DCPool, DCSession
from lab.db.lab import Lab
from lab.db.sql import Endpoint
from lab.errors import LabError

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


def endpoints(lab: Lab) -> dict[str, Endpoint]:
    return {dc: lab.primary(dc).endpoint for dc in lab.topology.dcs}


def check(lab: Lab, tuning: Tuning, parallel: int = 1) -> CheckResult:
    return compare_table(endpoints(lab), "lab.t", tuning=tuning, parallel=parallel)


def seeded(lab: Lab) -> dict[tuple, str]:
    """lab.t with ROWS rows on both DCs and differences seeded on dc2 at the edges; returns key -> kind."""
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
    return {(2,): "values_differ", (20,): "values_differ", (22,): "values_differ", (1200,): "values_differ",
            (1202,): "values_differ", (3000,): "values_differ", (6000,): "values_differ", (602,): "missing",
            (4444,): "missing", (1,): "extra", (1201,): "extra", (7001,): "extra"}


def test_every_sub_range_tuning_finds_exactly_the_seeded_keys(lab: Lab) -> None:
    expected = seeded(lab)
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
    # the differing sub-ranges of a chunk are listed together: fewer list queries than listed ranges
    assert 0 < listed.stats["digest_queries"] < listed.stats["leaves_fetched"]


def test_lists_cut_short_by_group_concat_are_listed_again_in_parts(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that cuts GROUP_CONCAT short (1,024 bytes here, about 40 rows): every list of a batch that comes
    back incomplete is split and listed again, and the keys found are still exactly the seeded ones."""
    expected = seeded(lab)
    opened = DCSession.open.__func__

    def short_lists(cls: type[DCSession], *args: Any, **kwargs: Any) -> DCSession:
        session = opened(cls, *args, **kwargs)
        session.run("SET SESSION group_concat_max_len = 1024")
        return session

    long_lists = {   # lists of ~100 rows, in batches of several ranges, and whole chunks listed
        "batched": Tuning(initial_rows=3000, min_rows=3000, max_rows=3000, sub_rows=100, max_branches=30,
                          leaf_rows=200, adaptive_mode=False),
        "digest-first": Tuning(start_mode="digest", adaptive_mode=False)}
    whole = {name: check(lab, tuning) for name, tuning in long_lists.items()}
    monkeypatch.setattr(DCSession, "open", classmethod(short_lists))
    for name, tuning in {**SUB_RANGES, **long_lists}.items():
        result = check(lab, tuning)
        assert {d.key: d.kind for d in result.divergences} == expected, name
        if name in whole:   # the lists did come back cut short, and were listed again in more, smaller parts
            assert result.stats["leaves_fetched"] > whole[name].stats["leaves_fetched"], name


def test_lanes_find_exactly_the_seeded_keys_and_scan_every_row_once(lab: Lab) -> None:
    """Lanes walk adjacent parts of the key space, cut over every DC's keys (1 and 7001 exist on dc2 only): the
    keys at both ends, in gaps and on sub-range edges are found in every lane count, each row scanned once."""
    expected = seeded(lab)
    one = check(lab, Tuning())
    for parallel in (2, 3, 7):
        for name, tuning in {"default": Tuning(), **SUB_RANGES}.items():
            result = check(lab, tuning, parallel)
            assert {d.key: d.kind for d in result.divergences} == expected, (parallel, name)
            assert result.stats["lanes"] == parallel and one.stats["lanes"] == 1
            assert result.stats["rows_scanned"] == one.stats["rows_scanned"], (parallel, name)
            assert all(n >= parallel * 2 for n in result.stats["queries"].values())   # each lane's session queried


def test_lanes_read_one_snapshot(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every lane's session on a DC starts its snapshot while the table is locked for reading: a write sent
    between the first lane's snapshot and the others' waits for them all, so no lane sees it (without the
    lock, the later lanes would), and each lane reports where the first lane read."""
    seeded(lab)
    dc1 = lab.primary("dc1")
    started = DCSession.start_snapshot
    writer: list[threading.Thread] = []

    def write_meanwhile(session: DCSession) -> None:
        started(session)
        if session.dc == "dc1" and not writer:
            writer.append(threading.Thread(target=dc1.execute, args=("INSERT INTO lab.t VALUES (9001, 'meanwhile')",)))
            writer[0].start()
            writer[0].join(0.5)   # long enough to commit, were the table not locked

    monkeypatch.setattr(DCSession, "start_snapshot", write_meanwhile)
    pools = DCPool.open_lanes(endpoints(lab), 3, read_timeout=30)
    DCPool.start_reading(pools, snapshot=True, tables={dc: "`lab`.`t`" for dc in lab.topology.dcs})
    try:
        writer[0].join(10)
        assert not writer[0].is_alive()
        counts = {lane: {dc: s.run("SELECT COUNT(*) AS n FROM lab.t")[0]["n"] for dc, s in pool.sessions.items()}
                  for lane, pool in enumerate(pools)}
        assert counts[0] == counts[1] == counts[2] == {"dc1": ROWS, "dc2": ROWS + 1}   # dc2: 2 rows less, 3 more
        assert {pool.sessions["dc1"].read_at for pool in pools} == {pools[0].sessions["dc1"].read_at}
        assert dc1.query("SELECT COUNT(*) AS n FROM lab.t")[0]["n"] == ROWS + 1
    finally:
        for pool in pools:
            pool.close()


def test_lanes_only_for_integer_keys_and_refused_without_lock_privilege(lab: Lab) -> None:
    """A text key is walked in one lane (each cut would be an index walk), with no lock, so a user who may not
    LOCK TABLES can check it with --parallel; on an integer key that user gets one line naming --parallel and
    the ways out, and one lane works."""
    dc1 = lab.primary("dc1")
    dc1.execute("CREATE TABLE lab.t (id VARCHAR(10) PRIMARY KEY, v INT)",
                "INSERT INTO lab.t VALUES ('a', 1), ('b', 2), ('c', 3), ('d', 4)",
                "CREATE USER IF NOT EXISTS 'lanes_ro'@'%' IDENTIFIED BY 'lanes-ro-1'",
                "GRANT SELECT ON lab.* TO 'lanes_ro'@'%'")
    try:
        assert lab.catch_up().caught_up
        lab.primary("dc2").execute("SET SESSION sql_log_bin = 0", "UPDATE lab.t SET v = 5 WHERE id = 'c'")
        result = compare_table(endpoints(lab), "lab.t", parallel=4)
        assert result.stats["lanes"] == 1 and [d.key for d in result.divergences] == [("c",)]
        reader = {dc: dataclasses.replace(ep, user="lanes_ro", password="lanes-ro-1")
                  for dc, ep in endpoints(lab).items()}
        assert [d.key for d in compare_table(reader, "lab.t", parallel=2).divergences] == [("c",)]
        dc1.execute("CREATE TABLE lab.n (id INT PRIMARY KEY, v INT)",
                    "INSERT INTO lab.n VALUES " + ", ".join(f"({i}, {i})" for i in range(1, 41)))
        assert lab.catch_up().caught_up
        lab.primary("dc2").execute("SET SESSION sql_log_bin = 0", "UPDATE lab.n SET v = 0 WHERE id IN (3, 33)")
        with pytest.raises(LabError, match=r"^dc\d: 2 lanes share one snapshot by locking .*"
                                           r"\(--parallel 1, parallel=1\).*\(--no-snapshot, snapshot=False\)$"):
            compare_table(reader, "lab.n", parallel=2)
        assert [d.key for d in compare_table(reader, "lab.n", parallel=1).divergences] == [(3,), (33,)]
        assert compare_table(endpoints(lab), "lab.n", parallel=2).stats["lanes"] == 2
    finally:
        dc1.execute("DROP USER IF EXISTS 'lanes_ro'@'%'")
