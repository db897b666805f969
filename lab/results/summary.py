"""Which columns of cells.csv each summary shows: the terminal table of `lab run`, report.md and report.html.

The columns themselves (names, meanings, short names) come from lab.results.schema; this module only
chooses among them for a given run, so the three summaries never disagree about what a column is.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lab.results import schema


def parameter_columns(frame: pd.DataFrame, parameters: list[str] | None = None) -> list[str]:
    """The lab's parameters, then any a workload adds (its knobs, exec_mode), as columns of `frame`."""
    extra = [c for c in (parameters or []) if c not in schema.PARAMETERS]
    return [c for c in [*schema.PARAMETERS, *extra] if c in frame.columns]


def workload_count_columns(frame: pd.DataFrame, parameters: list[str] | None = None) -> list[str]:
    """Columns a workload adds beyond the lab's own and its parameters: inv_*, overwritten_by_*, its counts."""
    known = {*schema.CELL_COLUMN_NAMES, schema.WORKLOAD_COLUMN, "run", *(parameters or [])}
    return [c for c in frame.columns if c not in known]


def terminal_rows(summaries: list[dict[str, Any]], parameters: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows for the terminal table; columns constant across the run, or never filled, are dropped."""
    frame = pd.DataFrame(summaries)
    parameter_names = parameter_columns(frame, parameters)
    measured = [c for c in schema.TERMINAL_COUNTS if c in frame.columns]
    measured += [c for c in frame.columns if c.startswith(schema.INVARIANT_PREFIX)]
    columns = parameter_names + [c for c in measured if frame[c].notna().any()]
    varying = [c for c in columns if c not in parameter_names or frame[c].nunique() > 1]
    if "status" in frame.columns and (frame["status"] != "completed").any():
        varying.append("status")
    return [{schema.short_name(c): summary.get(c) for c in varying} for summary in summaries]


def constant_parameters(summaries: list[dict[str, Any]], parameters: list[str] | None = None) -> dict[str, Any]:
    frame = pd.DataFrame(summaries)
    return {k: frame[k].iloc[0] for k in parameter_columns(frame, parameters) if frame[k].nunique() == 1}


def report_table(cells: pd.DataFrame, parameters: list[str] | None = None) -> pd.DataFrame:
    """The summary table of report.md and report.html: parameters, the report counts, the workload's own
    columns, status, and the error where a cell failed. Columns no cell filled are left out."""
    chosen = parameter_columns(cells, parameters)
    chosen += [c for c in schema.REPORT_COUNTS if c in cells.columns]
    chosen += workload_count_columns(cells, parameters)
    chosen += [c for c in ("status", "error") if c in cells.columns]
    table = cells[chosen]
    keep = [c for c in table.columns if table[c].notna().any() and not (table[c].astype(str) == "").all()]
    return table[keep]
