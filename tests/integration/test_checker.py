"""The divergence checker on real servers (both flavors): it must find exactly the seeded keys.

Divergence is seeded on dc2 with `SET SESSION sql_log_bin=0`, so replication never repairs it
and never reports it, as in the incident. Every case runs through the three code paths of the
walk (default adaptive, forced bisection down to tiny leaves, forced digest-first) and each
must return the same exact keys.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from lab.checker import Tuning, compare_table
from lab.checker import repair as repairs
from lab.checker.result import CheckResult
from lab.checker.walk import Walk
from lab.cli import main as cli
from lab.db.lab import Lab
from lab.db.server import Server
from lab.errors import LabError

PATHS = {
    "adaptive": None,
    "bisect": Tuning(initial_rows=4, min_rows=2, max_rows=16, leaf_rows=2, fanout=2, adaptive_mode=False),
    "digest": Tuning(start_mode="digest", adaptive_mode=False, initial_rows=8, min_rows=2, max_rows=32),
    "short lists": Tuning(start_mode="digest", adaptive_mode=False, list_rows=10),   # chunks cut by list_rows alone
}
ROWS = 120


@pytest.fixture
def lab(lab_pool: Any, flavor: str) -> Iterator[Lab]:
    yield lab_pool.get("active-active", flavor, "ROW")


def on_dc1(lab: Lab, *statements: str) -> None:
    """Through replication: dc1 runs it, both DCs get it."""
    lab.primary("dc1").execute(*statements)
    assert lab.catch_up().caught_up


def on_dc2_only(lab: Lab, *statements: str) -> None:
    """Silent divergence: dc2 changes with the binary log off, replication never sees it."""
    lab.primary("dc2").execute("SET SESSION sql_log_bin = 0", *statements)
    assert lab.catch_up().caught_up


def check(lab: Lab, table: str, tuning: Tuning | None = None) -> CheckResult:
    endpoints = {dc: lab.primary(dc).endpoint for dc in lab.topology.dcs}
    return compare_table(endpoints, table, tuning=tuning)


def found(result: CheckResult) -> dict[tuple, str]:
    return {d.key: d.kind for d in result.divergences}


def assert_exactly(lab: Lab, table: str, expected: dict[tuple, str]) -> CheckResult:
    """Every walk path finds exactly `expected` (key -> kind); returns the default path's result."""
    results = {name: check(lab, table, tuning) for name, tuning in PATHS.items()}
    for name, result in results.items():
        assert found(result) == expected, name
        assert result.in_sync == (not expected)
    return results["adaptive"]


def numbered_table(lab: Lab, table: str = "t", collate: str = "utf8mb4_general_ci") -> None:
    on_dc1(lab, f"CREATE TABLE lab.{table} (id INT PRIMARY KEY, v VARCHAR(40) NULL, n INT NOT NULL) "
                f"COLLATE {collate}",
           f"INSERT INTO lab.{table} WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {ROWS}) "
           f"SELECT i, CONCAT('value ', i), i * 7 FROM s")


def test_single_row_value_change(lab: Lab) -> None:
    numbered_table(lab)
    on_dc2_only(lab, "UPDATE lab.t SET n = n + 1 WHERE id = 37")
    result = assert_exactly(lab, "t", {(37,): "values_differ"})
    assert result.differences[["id", "column", "kind", "dc1", "dc2"]].values.tolist() == [
        [37, "n", "values_differ", 259, 260]]
    row = result.rows.iloc[0]
    assert row["dcs"] == "dc2" and row["dc1.present"] and row["dc2.present"]
    assert check(lab, "t", PATHS["bisect"]).stats["bisections"] > 0
    assert check(lab, "t", PATHS["digest"]).stats["hash_queries"] == 0
    assert check(lab, "t", PATHS["short lists"]).stats["chunks"] >= ROWS // 10   # one chunk of 1,000 rows without it
    assert set(result.read_at) == {"dc1", "dc2"} and all(result.read_at.values())
    assert all(result.stats["read_at_exact"].values())
    phases = result.stats["phase_seconds"]
    assert list(phases) == ["open", "walk", "rows", "frames"] and sum(phases.values()) <= result.stats["seconds"] + 0.01


def test_snapshot_hides_writes_committed_after_it_started(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    numbered_table(lab)
    on_dc2_only(lab, "UPDATE lab.t SET n = 0 WHERE id = 2")
    walk = Walk.run

    def write_then_walk(self: Walk) -> set[str]:
        lab.primary("dc2").execute("SET SESSION sql_log_bin = 0", "UPDATE lab.t SET n = n + 1 WHERE id = 3")
        return walk(self)

    monkeypatch.setattr(Walk, "run", write_then_walk)
    endpoints = {dc: lab.primary(dc).endpoint for dc in lab.topology.dcs}
    assert found(compare_table(endpoints, "t")) == {(2,): "values_differ"}       # id 3 changed after the snapshot
    assert found(compare_table(endpoints, "t", snapshot=False)) == {(2,): "values_differ", (3,): "values_differ"}


def test_missing_and_extra_rows(lab: Lab) -> None:
    numbered_table(lab)
    on_dc2_only(lab, "DELETE FROM lab.t WHERE id IN (1, 64)", "INSERT INTO lab.t VALUES (500, 'only here', 1)")
    result = assert_exactly(lab, "t", {(1,): "missing", (64,): "missing", (500,): "extra"})
    extra = result.rows[result.rows["id"] == 500].iloc[0]
    assert not extra["dc1.present"] and extra["dc2.present"] and extra["dc2.v"] == "only here"
    assert extra["dc1.v"] is None


def test_null_versus_empty_string(lab: Lab) -> None:
    numbered_table(lab)
    on_dc1(lab, "UPDATE lab.t SET v = NULL WHERE id = 10", "UPDATE lab.t SET v = '' WHERE id = 11")
    on_dc2_only(lab, "UPDATE lab.t SET v = '' WHERE id = 10", "UPDATE lab.t SET v = NULL WHERE id = 11")
    result = assert_exactly(lab, "t", {(10,): "values_differ", (11,): "values_differ"})
    assert result.differences[["id", "dc1", "dc2"]].values.tolist() == [[10, None, ""], [11, "", None]]


def test_case_and_trailing_space_under_case_insensitive_collation(lab: Lab) -> None:
    numbered_table(lab, collate="utf8mb4_general_ci")
    server = lab.primary("dc1")
    # the premise: under this collation the server itself calls these values equal
    equal = server.query("SELECT (SELECT COUNT(*) FROM lab.t WHERE v = 'VALUE 20') AS case_only, "
                         "(SELECT COUNT(*) FROM lab.t WHERE v = 'value 21 ') AS trailing_space")
    assert equal == [{"case_only": 1, "trailing_space": 1}]
    on_dc2_only(lab, "UPDATE lab.t SET v = 'VALUE 20' WHERE id = 20",
                "UPDATE lab.t SET v = 'value 21 ' WHERE id = 21")
    result = assert_exactly(lab, "t", {(20,): "values_differ", (21,): "values_differ"})
    assert result.differences[["id", "dc1", "dc2"]].values.tolist() == [
        [20, "value 20", "VALUE 20"], [21, "value 21", "value 21 "]]


def crc_checksum(server: Server, table: str) -> dict:
    """pt-table-checksum's per-chunk checksum, here over the whole table."""
    return server.query(f"SELECT COUNT(*) AS n, BIT_XOR(CAST(CRC32(CONCAT_WS('#', id, v, n)) AS UNSIGNED)) AS crc "
                        f"FROM lab.{table}")[0]


def test_changes_that_cancel_under_bit_xor_crc32(lab: Lab) -> None:
    numbered_table(lab)
    on_dc1(lab, "UPDATE lab.t SET v = 'aaaa' WHERE id = 50", "UPDATE lab.t SET v = 'eeee' WHERE id = 51")
    on_dc2_only(lab,
                # two rows swap their non-key values
                "UPDATE lab.t a JOIN lab.t b ON a.id = 40 AND b.id = 41 SET a.v = b.v, b.v = a.v, a.n = b.n, b.n = a.n",
                # an even number of rows changed the same way (one bit, same position, same length)
                "UPDATE lab.t SET v = 'caaa' WHERE id = 50", "UPDATE lab.t SET v = 'geee' WHERE id = 51")
    # the premise: BIT_XOR(CRC32) cannot see any of it
    assert crc_checksum(lab.primary("dc1"), "t") == crc_checksum(lab.primary("dc2"), "t")
    assert_exactly(lab, "t", {(40,): "values_differ", (41,): "values_differ",
                              (50,): "values_differ", (51,): "values_differ"})


def test_composite_primary_key(lab: Lab) -> None:
    on_dc1(lab, "CREATE TABLE lab.c (region VARCHAR(8) NOT NULL, id INT NOT NULL, day DATE NOT NULL, v INT, "
                "PRIMARY KEY (region, id, day)) COLLATE utf8mb4_general_ci",
           "INSERT INTO lab.c WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 90) "
           "SELECT ELT(1 + i % 3, 'eu', 'us', 'ap'), i DIV 3, DATE('2024-01-01') + INTERVAL i % 2 DAY, i FROM s")
    eu = lab.primary("dc1").query("SELECT region, id, day FROM lab.c WHERE region = 'eu' ORDER BY id LIMIT 1 OFFSET 4")
    key = (eu[0]["region"], eu[0]["id"], eu[0]["day"])
    on_dc2_only(lab, f"UPDATE lab.c SET v = -1 WHERE region = 'eu' AND id = {key[1]} AND day = '{key[2]}'",
                "DELETE FROM lab.c WHERE region = 'us' AND id = 3",
                "INSERT INTO lab.c VALUES ('zz', 1, '2030-01-01', 0), ('Eu', 999, '2024-01-01', 1)")
    us = lab.primary("dc1").query("SELECT region, id, day FROM lab.c WHERE region = 'us' AND id = 3")
    expected = {key: "values_differ", ("zz", 1, datetime.date(2030, 1, 1)): "extra",
                ("Eu", 999, datetime.date(2024, 1, 1)): "extra"}
    expected.update({(r["region"], r["id"], r["day"]): "missing" for r in us})
    result = assert_exactly(lab, "c", expected)
    assert result.key_columns == ["region", "id", "day"]


def test_empty_table_and_rows_only_beyond_the_reference(lab: Lab) -> None:
    on_dc1(lab, "CREATE TABLE lab.e (id BIGINT PRIMARY KEY, v TEXT)",
           "CREATE TABLE lab.s (k VARCHAR(10) PRIMARY KEY)")
    assert_exactly(lab, "e", {})
    assert_exactly(lab, "lab.s", {})
    on_dc2_only(lab, "INSERT INTO lab.e VALUES (5, 'a'), (6, NULL), (7, '')",
                "INSERT INTO lab.s VALUES ('x'), ('y')")
    assert_exactly(lab, "e", {(5,): "extra", (6,): "extra", (7,): "extra"})
    assert_exactly(lab, "s", {("x",): "extra", ("y",): "extra"})


TYPES_DDL = """CREATE TABLE lab.types (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY, ti TINYINT, dec_ DECIMAL(20,6), fl FLOAT, db DOUBLE, d DATE,
  dt DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(2), yr YEAR, ch CHAR(5), vc VARCHAR(20), tx TEXT, bl BLOB,
  vb VARBINARY(8), en ENUM('a','b','c'), st SET('x','y','z'), bt BIT(10), js JSON, l1 VARCHAR(10) CHARACTER SET latin1
) COLLATE utf8mb4_unicode_ci"""
TYPES_ROW = ("({id}, -5, 12345.678901, 1.5, 2.25, '2024-02-29', '2024-02-29 23:59:59.123456', "
             "'2024-03-01 00:00:01.5', '-12:34:56.78', 2024, 'ab', 'text #{id}', 'long text', X'00FF10', "
             "X'DEADBEEF', 'b', 'x,z', b'1010101010', '{{\"k\": [1, 2]}}', 'caf\u00e9')")
TYPE_CHANGES = {  # id -> a change of one column, each invisible to a naive or collation-based compare
    2: "ti = -6", 3: "dec_ = 12345.678902", 4: "fl = 1.25", 5: "db = 2.5", 6: "d = '2024-03-01'",
    7: "dt = '2024-02-29 23:59:59.123457'", 8: "ts = '2024-03-01 00:00:01.6'", 9: "tm = '-12:34:56.79'",
    10: "yr = 2025", 11: "ch = 'AB'", 12: "vc = 'TEXT #12'", 13: "tx = 'long text '", 14: "bl = X'00FF11'",
    15: "vb = X'DEADBEEF00'", 16: "en = 'c'", 17: "st = 'x'", 18: "bt = b'1010101011'",
    19: "js = '{\"k\": [1, 3]}'", 20: "l1 = 'CAF\u00c9'", 21: "ts = NULL", 22: "vc = NULL", 23: "bl = ''",
}


def test_common_column_types_and_repair_round_trip(lab: Lab) -> None:
    values = ", ".join(TYPES_ROW.format(id=i) for i in range(1, 30))
    on_dc1(lab, TYPES_DDL, f"INSERT INTO lab.types VALUES {values}",
           "INSERT INTO lab.types (id) VALUES (18446744073709551615)")
    statements = [f"UPDATE lab.types SET {change} WHERE id = {key}" for key, change in TYPE_CHANGES.items()]
    on_dc2_only(lab, *statements, "DELETE FROM lab.types WHERE id = 18446744073709551615")
    expected = {(key,): "values_differ" for key in TYPE_CHANGES} | {(18446744073709551615,): "missing"}
    result = assert_exactly(lab, "types", expected)
    changed = dict(zip(result.differences["id"], result.differences["column"], strict=False))
    assert {key: changed[key] for key in TYPE_CHANGES} == {k: c.split(" = ")[0] for k, c in TYPE_CHANGES.items()}
    # repair: dc2 takes dc1's values; applied locally, then through the source
    endpoints = {dc: lab.primary(dc).endpoint for dc in lab.topology.dcs}
    plan = repairs.plan(result, repairs.Policy("dc", "dc1"))
    repairs.apply(plan, endpoints, "local")
    assert check(lab, "types").in_sync


@pytest.mark.parametrize("mode", ["source", "local"])
def test_repair_round_trip_converges(lab: Lab, mode: str) -> None:
    numbered_table(lab)
    on_dc2_only(lab, "UPDATE lab.t SET v = 'changed' WHERE id = 3", "DELETE FROM lab.t WHERE id = 4",
                "INSERT INTO lab.t VALUES (777, NULL, 0)", "UPDATE lab.t SET v = NULL WHERE id = 5")
    on_dc1(lab, "UPDATE lab.t SET n = 1000 WHERE id = 6")
    on_dc2_only(lab, "UPDATE lab.t SET n = 2000 WHERE id = 6")
    before = check(lab, "t")
    assert found(before) == {(3,): "values_differ", (4,): "missing", (777,): "extra", (5,): "values_differ",
                             (6,): "values_differ"}
    plan = repairs.plan(before, repairs.Policy("version", "n"))   # highest n wins, a present row beats absence
    assert plan.winners[(6,)] == "dc2" and plan.winners[(777,)] == "dc2" and plan.winners[(4,)] == "dc1"
    endpoints = {dc: lab.primary(dc).endpoint for dc in lab.topology.dcs}
    repairs.apply(plan, endpoints, mode, "dc1")   # type: ignore[arg-type]
    assert lab.catch_up().caught_up
    after = check(lab, "t")
    assert after.in_sync, after.summary()
    rows = {r["id"]: r for r in lab.primary("dc1").query("SELECT * FROM lab.t WHERE id IN (6, 777)")}
    assert rows[6]["n"] == 2000 and 777 in rows


def test_table_without_primary_key_is_refused(lab: Lab) -> None:
    on_dc1(lab, "CREATE TABLE lab.nopk (a INT, b INT)")
    with pytest.raises(LabError, match="no primary key"):
        check(lab, "nopk")


def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    outcome = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return outcome.exit_code, outcome.output


def test_cli_check_repair_and_recheck(lab: Lab) -> None:
    numbered_table(lab)
    on_dc2_only(lab, "UPDATE lab.t SET v = 'Value 8' WHERE id = 8", "DELETE FROM lab.t WHERE id = 9")
    code, text = run_cli("check", "--lab", lab.name, "--table", "t", "--format", "json")
    assert code == 1
    document = json.loads(text[text.index("{"):])
    assert sorted((r["id"], r["kind"]) for r in document["rows"]) == [(8, "values_differ"), (9, "missing")]
    # arbitrary servers, password from the environment only
    dc1, dc2 = (lab.primary(dc).endpoint for dc in ("dc1", "dc2"))
    urls = [f"--dc=dc{i}=mysql://{ep.user}@{ep.host}:{ep.port}/lab" for i, ep in ((1, dc1), (2, dc2))]
    code, text = run_cli("check", *urls, "--table", "lab.t", "--format", "csv",
                         env={"LAB_CHECK_PASSWORD": dc1.password})
    assert code == 1 and "8,v,values_differ,value 8,Value 8" in text
    code, text = run_cli("repair", "--lab", lab.name, "--table", "t", "--winner", "dc=dc1")
    assert code == 0 and "through the source dc1" in text and "dry run" in text
    assert found(check(lab, "t")) == {(8,): "values_differ", (9,): "missing"}    # a dry run changes nothing
    code, text = run_cli("repair", "--lab", lab.name, "--table", "t", "--winner", "dc=dc1", "--apply")
    assert code == 0 and "re-check" in text and "in sync" in text
    code, _ = run_cli("check", "--lab", lab.name, "--table", "t")
    assert code == 0
    on_dc1(lab, "CREATE TABLE lab.nopk (a INT)")
    code, text = run_cli("check", "--lab", lab.name, "--table", "nopk")
    assert code == 2 and "no primary key" in text


def test_three_dcs_classified_against_the_reference(lab_pool: Any, flavor: str) -> None:
    ring = lab_pool.get("ring-3", flavor, "ROW")
    numbered_table(ring)
    ring.primary("dc2").execute("SET SESSION sql_log_bin = 0", "UPDATE lab.t SET v = 'x' WHERE id = 5",
                                "DELETE FROM lab.t WHERE id = 6")
    ring.primary("dc3").execute("SET SESSION sql_log_bin = 0", "UPDATE lab.t SET v = 'y' WHERE id = 6",
                                "INSERT INTO lab.t VALUES (900, 'z', 0)")
    ring.primary("dc1").execute("SET SESSION sql_log_bin = 0", "DELETE FROM lab.t WHERE id = 7")
    assert ring.catch_up().caught_up
    for tuning in PATHS.values():
        result = check(ring, "t", tuning)
        assert {d.key: (d.kind, d.dcs) for d in result.divergences} == {
            (5,): ("values_differ", ("dc2",)), (6,): ("missing", ("dc2",)), (900,): ("extra", ("dc3",)),
            (7,): ("extra", ("dc2", "dc3"))}
        assert result.rows.columns.tolist()[3:6] == ["dc1.present", "dc1.id", "dc1.v"]
