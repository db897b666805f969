"""`lab run --junit`: one test case per cell, valid against the JUnit schema CI systems read."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import xmlschema

from lab.results import expect
from lab.results.junit import write_junit

CELLS = [
    {"cell": "a.STATEMENT", "status": "completed", "seconds": 2.5, "binlog_format": "STATEMENT", "stuck_rows": 1,
     "diverged_after_overlap": 1, "lost_updates": 1, "verdict": "stuck"},
    {"cell": "a.ROW", "status": "completed", "seconds": 1234.25, "binlog_format": "ROW", "stuck_rows": 0,
     "diverged_after_overlap": 0, "lost_updates": 1, "verdict": "converged"},
    {"cell": "a.MIXED", "status": "failed", "seconds": None, "binlog_format": "MIXED",
     "error": "LabError: dc2 did not start"},
]


def test_cells_are_cases_failures_and_errors(tmp_path: Path, junit_xsd: Path) -> None:
    wanted = [expect.parse("stuck_rows==0", ["stuck_rows"])]
    path = write_junit(tmp_path / "out" / "junit.xml", "wix-incident", CELLS, wanted, started=0)
    xmlschema.XMLSchema(junit_xsd).validate(path)
    root = ElementTree.parse(path).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert cases["a.STATEMENT"].find("failure").get("message") == "a.STATEMENT: stuck_rows=1"
    assert cases["a.ROW"].find("failure") is None and cases["a.ROW"].find("error") is None
    assert "did not start" in cases["a.MIXED"].find("error").get("message")
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "a.STATEMENT")
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["verdict"] == "stuck" and properties["lost_updates"] == "1"


def test_without_expect_every_completed_cell_passes(tmp_path: Path, junit_xsd: Path) -> None:
    path = write_junit(tmp_path / "junit.xml", "wix-incident", CELLS[:2], [])
    xmlschema.XMLSchema(junit_xsd).validate(path)
    root = ElementTree.parse(path).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "0", "0")


def test_the_schema_rejects_a_report_it_should(tmp_path: Path, junit_xsd: Path) -> None:
    """The schema is strict enough to matter: properties on a test case are not in it."""
    bad = tmp_path / "bad.xml"
    bad.write_text('<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="c">'
                   '<properties><property name="a" value="b"/></properties></testcase></testsuite></testsuites>')
    assert not xmlschema.XMLSchema(junit_xsd).is_valid(bad)
