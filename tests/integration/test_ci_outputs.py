"""What CI reads from `lab run`: shards that merge into the unsharded run, a JUnit file, JSON on stdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pandas as pd
import pytest
import xmlschema

from lab.cli import entry
from lab.results import schema
from lab.testing import caught_up, write

# 6 deterministic incident cells (3 formats x 2 guards) on one lab: each shard of 3 gets 2
ONLY = "mode=deterministic,version_order=dc1_newer,topology=active-passive,flavor=mariadb:10.11,guard=strict|gte"
EXPECT = "stuck_rows==0"


def lab(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the `lab` command in-process; (exit code, stdout, stderr)."""
    try:
        entry(argv)
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_dir(results: Path) -> Path:
    (found,) = [p for p in results.iterdir() if (p / schema.RUN_FILE).exists()]
    return found


def cells(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path / schema.CELLS_FILE, dtype=str, keep_default_na=False)
    return frame.drop(columns=[c for c in frame.columns if schema.timing(c)])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ci-outputs")


def test_one_run_as_json(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lab(["run", "wix-incident", "--only", ONLY, "--results", str(runs / "whole"), "--no-plots",
                     "--json"], capsys)
    printed = json.loads(out)
    assert code == 0 and printed["exit_code"] == 0 and printed["completed"]
    assert len(printed["cells"]) == 6 and Path(printed["run_dir"]) == run_dir(runs / "whole")
    assert {c["cell"] for c in printed["cells"]} == set(cells(run_dir(runs / "whole"))["cell"])


def test_three_shards_merge_into_the_unsharded_run(runs: Path, capsys: pytest.CaptureFixture[str],
                                                   junit_xsd: Path) -> None:
    codes = []
    for k in (1, 2, 3):
        code, _, _ = lab(["run", "wix-incident", "--only", ONLY, "--shard", f"{k}/3", "--results",
                       str(runs / f"shard{k}"), "--no-plots", "--expect", EXPECT,
                       "--junit", str(runs / f"junit{k}.xml")], capsys)
        codes.append(code)
    shards = [run_dir(runs / f"shard{k}") for k in (1, 2, 3)]
    parts = [list(cells(path)["cell"]) for path in shards]
    whole = cells(run_dir(runs / "whole"))
    assert sorted(cell for part in parts for cell in part) == sorted(whole["cell"])
    assert all(len(part) == 2 for part in parts)

    code, _, _ = lab(["report", *map(str, shards), "--merged", str(runs / "merged")], capsys)
    assert code == 0
    merged = cells(runs / "merged")
    pd.testing.assert_frame_equal(merged, whole)
    meta = json.loads((runs / "merged" / schema.RUN_FILE).read_text())
    assert meta["cells_done"] == 6 and len(meta["merged_from"]) == 3 and (runs / "merged" / schema.REPORT_MD).exists()

    # the JUnit files: each validates; a cell that breaks --expect is a failure, and only such a cell
    stuck = set(whole[whole["stuck_rows"].astype(int) > 0]["cell"])
    failed_cases = set()
    for k in (1, 2, 3):
        xmlschema.XMLSchema(junit_xsd).validate(runs / f"junit{k}.xml")
        root = ElementTree.parse(runs / f"junit{k}.xml").getroot()
        assert root.get("tests") == "2" and root.get("errors") == "0"
        failed_cases |= {case.get("name") for case in root.iter("testcase") if case.find("failure") is not None}
        assert codes[k - 1] == (1 if set(parts[k - 1]) & stuck else 0)
    assert stuck and failed_cases == stuck


def test_merging_refuses_an_incomplete_set(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shards = [run_dir(runs / f"shard{k}") for k in (1, 3)]
    code, _, err = lab(["report", *map(str, shards), "--merged", str(runs / "partial")], capsys)
    assert code == 2 and "do not make up 1..3" in err
    assert not (runs / "partial").exists()


def test_status_doctor_and_check_print_json(lab_pool: Any, capsys: pytest.CaptureFixture[str]) -> None:
    pair = lab_pool.get("active-active", "mariadb:10.11", "ROW")
    write(pair, "dc1", "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 1), (2, 2)")
    caught_up(pair)
    pair.primary("dc2").execute("SET SESSION sql_log_bin = 0", "UPDATE t SET v = 20 WHERE id = 2")

    code, out, _ = lab(["status", "--lab", pair.name, "--json"], capsys)
    status = json.loads(out)
    assert code == 0 and status["lab"] == pair.name and len(status["links"]) == 2 and len(status["servers"]) == 2

    code, out, _ = lab(["doctor", "--json"], capsys)
    doctor = json.loads(out)
    assert code == 0 and pair.name in doctor["labs"] and {"engine", "images", "flavors"} <= set(doctor)

    code, out, _ = lab(["check", "--lab", pair.name, "--table", "t", "--json"], capsys)
    check = json.loads(out)
    assert code == 1 and check["in_sync"] is False                      # exit 1: diverged
    assert [row["id"] for row in check["differences"]] == [2]


def test_jobs_run_in_labs_of_their_own_and_merge_into_the_unsharded_run(runs: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from lab.db import engine, labels

    code, out, err = lab(["run", "wix-incident", "--only", ONLY, "--jobs", "3", "--results", str(runs / "jobs"),
                          "--no-plots", "--json"], capsys)
    assert code == 0, err
    printed = json.loads(out)
    merged = run_dir(runs / "jobs")
    assert Path(printed["run_dir"]) == merged and len(printed["cells"]) == 6
    assert sorted(p.name for p in (runs / "jobs").iterdir()) == [merged.name]   # the jobs' directories went
    pd.testing.assert_frame_equal(cells(merged), cells(run_dir(runs / "whole")))
    for k in (1, 2, 3):   # each job's progress, under its own prefix
        assert any(line.startswith(f"[lab] [job {k}/3] running 2 cell(s)") for line in err.splitlines()), err
    meta = json.loads((merged / schema.RUN_FILE).read_text())
    assert meta["jobs"] == 3 and meta["completed"] and "merged_from" not in meta
    assert len(set(meta["labs"])) == 3 and meta["server_versions"]["mariadb:10.11"]
    api = engine.client().api
    assert not [c for name in meta["labs"]
                for c in api.containers(all=True, filters={"label": [f"{labels.LAB}={name}"]})]
    histories = [json.loads(line) for line in (merged / schema.HISTORY_FILE).read_text().splitlines()]
    assert {record["shard"] for record in histories} == {1, 2, 3}
