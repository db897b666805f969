"""A cell's verdicts, computed from its checks, its history and the rows read back from the servers.

The same computation for every cell, whatever its kind and workload:
- divergence at each check, and which diverged rows a later write under the same guard did not
  converge (stuck), which the application never wrote again (untouched), and what a fix healed;
- lost updates by the field-level rule (lab.verdicts.lost_updates) at the end of the story, and at
  the very end when a fix ran;
- counts over the history (lab.verdicts.counts), replication errors and stopped appliers;
- the workload's invariants and counts of its own.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import pandas as pd

from lab.checker.healing import compare_checks
from lab.checker.healing import summary as healing_summary
from lab.history import phase_seconds
from lab.results import schema
from lab.results.schema import FixVerdict, RowVerdict
from lab.results.writer import CellOutcome
from lab.verdicts import counts
from lab.verdicts.lost_updates import LostWrite, lost_writes
from lab.verdicts.rows import RowKey
from lab.workloads import Violation

if TYPE_CHECKING:
    from lab.runner.cell import Cell


class RowVerdicts:
    """Which diverged rows are stuck, untouched and healed by the fix: read from the cell's checks and history."""

    def __init__(self, cell: Cell) -> None:
        self.cell = cell
        order = list(cell.checks)
        self.first = order[0] if order else None
        story = cell.story_check or self.first
        self.probed = cell.probed.get("probe")
        self.probe_check = "after_probe" if "after_probe" in cell.checks else None
        written: set[RowKey] = set()
        self.untouched: set[RowKey] | None = None
        if self.first and story and story != self.first:  # the application wrote again between the checks
            written = counts.written_keys(cell.history.operations(), cell.check_seq[self.first],
                                          cell.check_seq[story])
            self.untouched = cell.diverged(story) - written
        self.stuck: set[RowKey] | None = None
        if self.probed is not None and self.probe_check:
            rewritten = (cell.diverged(self.first) & written) | self.probed
            self.stuck = rewritten & cell.diverged(self.probe_check)

    def verdict(self, row: RowKey) -> RowVerdict:
        if self.stuck is not None and row in self.stuck:
            return RowVerdict.STUCK
        if self.probe_check and row not in self.cell.diverged(self.probe_check):
            return RowVerdict.CONVERGED
        return RowVerdict.DIVERGED

    def fix(self, row: RowKey) -> FixVerdict | None:
        if not self.cell.fixed or not self.probe_check or row not in self.cell.diverged(self.probe_check):
            return None
        return FixVerdict.STILL_DIVERGED if row in self.cell.diverged("after_fix") else FixVerdict.HEALED


def fix_counts(cell: Cell) -> dict[str, int | None]:
    """Rows healed, still diverged and newly diverged by the fix, over every table."""
    if not cell.fixed:
        return {f"{status}_by_fix": None for status in ("healed", "still_diverged", "newly_diverged")}
    totals: Counter[str] = Counter()
    for table, before in cell.check_results["after_probe"].items():
        totals.update(healing_summary(compare_checks(before, cell.check_results["after_fix"][table])))
    return {f"{status}_by_fix": totals[status] for status in ("healed", "still_diverged", "newly_diverged")}


def summarize(cell: Cell, seconds: float) -> CellOutcome:
    story = cell.story if cell.story is not None else cell.read_snapshot()
    operations = story.operations
    rows = RowVerdicts(cell)
    lost = lost_writes(operations, story.by_key())
    lost_at_end = lost_writes(cell.history.operations(), cell.read_snapshot().by_key()) if cell.fixed else None
    invariants = cell.workload.invariants()
    violations = [v for invariant in invariants for v in invariant.check(story)]
    culprits = Counter(item.overwritten_by.get("op") for item in lost if item.overwritten_by)
    cell.note_cleared_errors(cell.timeseries)
    cell.snapshots["replication_errors"] = cell.error_list()
    diverged = {name: len(frame) for name, frame in cell.checks.items()}
    summary: dict[str, Any] = {
        **cell.parameters,
        "cell": cell.history.cell,
        "status": "completed",
        "error": "",
        "design": cell.lab.design.label,
        "overlap": cell.plan.overlap,
        "binlog_format_outcome": cell.lab.format_outcome.summary() if cell.lab.format_outcome else None,
        "binlog_format_applied_as": cell.lab.format_outcome.applied_as if cell.lab.format_outcome else None,
        schema.WORKLOAD_COLUMN: cell.workload.name,
        **counts.overlap(operations),
        "operations": len(operations),
        **counts.operation_errors(operations),
        "rejected_writes": counts.rejected_writes(operations),
        **counts.certification_rollbacks(operations, cell.dcs),
        **counts.write_latency(operations, cell.dcs),
        "version_regressions": counts.version_regressions(operations),
        "diverged_after_overlap": diverged.get(rows.first) if rows.first else None,
        "diverged_after_leader_write": diverged.get("after_leader_write"),
        "stuck_rows": None if rows.stuck is None else len(rows.stuck),
        "untouched_diverged": None if rows.untouched is None else len(rows.untouched),
        "diverged_after_fix": diverged.get("after_fix") if cell.fixed else None,
        **fix_counts(cell),
        "lost_updates": len(lost),
        "lost_updates_after_fix": None if lost_at_end is None else len(lost_at_end),
        "replication_errors": len(cell.replication_errors),
        "stopped_appliers": cell.stopped_appliers.get(cell.story_check or rows.first or "", 0),
        "invariant_violations": len(violations) if invariants else None,
        **{schema.invariant_column(invariant.name): sum(1 for v in violations if v.invariant == invariant.name)
           for invariant in invariants},
        **{schema.overwritten_column(op): culprits.get(op, 0) for op in cell.workload.operations},
        **cell.workload.counts(story),
        "lost_updates_by_op": dict(Counter(item.write.get("op") for item in lost)),
        "seconds": round(seconds, 2),
        "checks_s": round(cell.check_seconds, 2),
        "phase_seconds": phase_seconds(cell.history.records, time.time()),
    }
    tables = {schema.VIOLATIONS_FILE: violations_frame(violations), schema.LOST_UPDATES_FILE: lost_frame(lost)}
    return CellOutcome(summary, divergence_table(cell, rows, lost), cell.snapshots, cell.timeseries, tables)


def divergence_table(cell: Cell, rows: RowVerdicts, lost: list[LostWrite]) -> pd.DataFrame:
    """One row per row diverged at any check, with every DC's values at that check and its verdict codes."""
    frames = [frame.assign(check=name) for name, frame in cell.checks.items() if not frame.empty]
    ordered = list(schema.DIVERGENCE_FILE_COLUMNS)
    if not frames:
        return pd.DataFrame(columns=ordered)
    table = pd.concat(frames, ignore_index=True)
    lost_rows = {(str(item.write.get("table")), str(item.write.get("key"))) for item in lost}
    keys: list[RowKey] = list(zip(table["table"], table["key"], strict=True))
    table["verdict"] = [rows.verdict(row).value for row in keys]
    table["untouched"] = ["" if rows.untouched is None else row in rows.untouched for row in keys]
    table["fix"] = [(rows.fix(row).value if rows.fix(row) else "") for row in keys]
    table["lost_update_on_key"] = [row in lost_rows for row in keys]
    return table[ordered + [c for c in table.columns if c not in ordered]]


def violations_frame(violations: list[Violation]) -> pd.DataFrame:
    return pd.DataFrame([[v.invariant, v.dc, v.table, v.key, v.detail] for v in violations],
                        columns=list(schema.VIOLATION_FILE_COLUMNS))


def lost_frame(lost: list[LostWrite]) -> pd.DataFrame:
    records = []
    for item in lost:
        write, culprit = item.write, item.overwritten_by or {}
        records.append([write.get("seq"), write.get("dc"), write.get("client"), write.get("op"), write.get("table"),
                        write.get("key"), write.get("changes"), culprit.get("seq"), culprit.get("op"),
                        culprit.get("dc")])
    return pd.DataFrame(records, columns=list(schema.LOST_UPDATE_FILE_COLUMNS))
