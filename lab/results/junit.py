"""A run as a JUnit XML report, the format CI systems show as tests: one test case per cell.

A cell that completed and meets every `--expect` passes; a cell that breaks one is a failure (the message
names the column and its value); a cell that could not run is an error. Each cell is its own test suite
holding its one test case, because the common JUnit schema (Jenkins' junit-10.xsd, which CI systems read)
allows properties on suites only: the suite's properties are the cell's parameters, verdict and counts.
The same counts are the test case's system-out, for CI pages that show only the output.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from lab.results.expect import Expectation

CLASSNAME_PREFIX = "lab"


def _scalar(value: Any) -> bool:
    return value is not None and value != "" and not isinstance(value, (dict, list, tuple, set))


def _seconds(summary: dict[str, Any]) -> str:
    return f"{float(summary.get('seconds') or 0):.3f}"


def _suite(summary: dict[str, Any], experiment: str, wanted: list[Expectation], stamp: str) -> ElementTree.Element:
    cell = str(summary.get("cell"))
    failed = summary.get("status") == "failed"
    refused = summary.get("status") == "refused"
    broken = [] if failed or refused else [(str(e), p) for e in wanted for p in e.violations([summary])]
    suite = ElementTree.Element("testsuite", name=cell, tests="1", failures=str(int(bool(broken))),
                                errors=str(int(failed)), skipped=str(int(refused)), time=_seconds(summary),
                                timestamp=stamp,
                                hostname=socket.gethostname(), package=f"{CLASSNAME_PREFIX}.{experiment}")
    properties = ElementTree.SubElement(suite, "properties")
    facts = {key: value for key, value in summary.items() if key not in ("cell", "error") and _scalar(value)}
    for key, value in facts.items():
        ElementTree.SubElement(properties, "property", name=str(key), value=str(value))
    case = ElementTree.SubElement(suite, "testcase", name=cell, classname=f"{CLASSNAME_PREFIX}.{experiment}",
                                  time=_seconds(summary))
    if failed:
        error = ElementTree.SubElement(case, "error", message=str(summary.get("error") or "the cell did not run"),
                                       type="cell failed")
        error.text = str(summary.get("error") or "")
    elif refused:   # the servers refused the cell's format: a result, but no step ran
        ElementTree.SubElement(case, "skipped",
                               message=f"binlog format {summary.get('binlog_format_outcome') or 'refused'}")
    elif broken:
        failure = ElementTree.SubElement(case, "failure", message="; ".join(problem for _, problem in broken),
                                         type="expect")
        failure.text = "\n".join(f"--expect {text} is not met: {problem}" for text, problem in broken)
    output = ElementTree.SubElement(case, "system-out")
    output.text = "\n".join(f"{key}={value}" for key, value in facts.items())
    return suite


def junit_document(experiment: str, summaries: list[dict[str, Any]], wanted: list[Expectation],
                   started: float | None = None) -> ElementTree.ElementTree:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started or time.time()))
    suites = [_suite(summary, experiment, wanted, stamp) for summary in summaries]
    counts = {name: str(sum(int(suite.get(name) or 0) for suite in suites)) for name in ("tests", "failures", "errors")}
    seconds = sum(float(suite.get("time") or 0) for suite in suites)
    expect = "; ".join(str(e) for e in wanted) or "none"
    root = ElementTree.Element("testsuites", name=f"lab run {experiment} (--expect {expect})", time=f"{seconds:.3f}",
                               **counts)
    root.extend(suites)
    ElementTree.indent(root)
    return ElementTree.ElementTree(root)


def write_junit(path: Path, experiment: str, summaries: list[dict[str, Any]], wanted: list[Expectation],
                started: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_document(experiment, summaries, wanted, started).write(path, encoding="utf-8", xml_declaration=True)
    return path
