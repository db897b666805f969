"""`--expect` conditions for CI: e.g. `diverged_after_fix==0` must hold in every completed cell."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
}
PATTERN = re.compile(r"^\s*([a-z_]+)\s*(==|!=|>=|<=|>|<)\s*(-?\d+)\s*$")


@dataclass(frozen=True)
class Expectation:
    column: str
    op: str
    value: int

    def __str__(self) -> str:
        return f"{self.column}{self.op}{self.value}"

    def violations(self, summaries: list[dict[str, Any]]) -> list[str]:
        bad = []
        for summary in summaries:
            if summary.get("status") != "completed":
                continue
            actual = summary.get(self.column)
            if actual is None or not OPERATORS[self.op](int(actual), self.value):
                bad.append(f"{summary['cell']}: {self.column}={actual}")
        return bad


def parse(text: str, known_columns: list[str]) -> Expectation:
    """`known_columns`: the numeric cells.csv columns of the experiment at hand, listed when one is unknown."""
    match = PATTERN.match(text)
    if not match:
        raise ValueError(f"--expect {text!r}: write COLUMN OP NUMBER, quoted for the shell, e.g. "
                         "--expect 'diverged_after_fix==0'")
    column, op, value = match.groups()
    if column not in known_columns:
        raise ValueError(f"--expect {text!r}: unknown column {column!r}; numeric columns of this experiment: "
                         f"{', '.join(known_columns)}")
    return Expectation(column, op, int(value))
