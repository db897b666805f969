"""The workload tables of every cell: broken invariants (violations.csv) and lost writes (lost_updates.csv)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lab.results import dtypes, schema
from lab.results.runs import Run


def cell_table_frame(runs: Sequence[Run], cells: pd.DataFrame, file_name: str,
                     columns: Sequence[str]) -> pd.DataFrame:
    """Concatenate cells/<cell>/<file_name> of every run, with `run`, `cell` and the cell's `workload`."""
    tables = []
    for run in runs:
        for path in sorted((run.path / schema.CELLS_DIR).glob(f"*/{file_name}")):
            try:
                table = pd.read_csv(path, dtype=str, keep_default_na=False)
            except pd.errors.EmptyDataError:
                continue
            if not table.empty:
                tables.append(table.assign(run=run.name, cell=path.parent.name))
    frame = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    frame = dtypes.frame(frame.to_dict("records"), columns).replace("", None)
    workloads = {}
    if schema.WORKLOAD_COLUMN in cells.columns and len(cells):
        workloads = dict(zip(zip(cells["run"].astype(str), cells["cell"].astype(str), strict=True),
                             cells[schema.WORKLOAD_COLUMN].astype(object), strict=True))
    frame[schema.WORKLOAD_COLUMN] = [workloads.get((str(r), str(c)))
                                     for r, c in zip(frame["run"], frame["cell"], strict=True)]
    frame["run"] = dtypes.categorical(frame["run"], [run.name for run in runs])
    frame["cell"] = dtypes.categorical(frame["cell"], dtypes.cell_order(cells))
    return frame


def violations_frame(runs: Sequence[Run], cells: pd.DataFrame) -> pd.DataFrame:
    """One row per broken invariant: `invariant`, `dc` ("*": across DCs), `table`, `key`, `detail`."""
    frame = cell_table_frame(runs, cells, schema.VIOLATIONS_FILE, schema.VIOLATION_COLUMNS)
    for column in (schema.WORKLOAD_COLUMN, "invariant", "dc", "table"):
        frame[column] = dtypes.categorical(frame[column])
    for column in ("key", "detail"):
        frame[column] = dtypes.text(frame[column])
    return frame[list(schema.VIOLATION_COLUMNS) + [c for c in frame.columns if c not in schema.VIOLATION_COLUMNS]]


def lost_updates_frame(runs: Sequence[Run], cells: pd.DataFrame) -> pd.DataFrame:
    """One row per lost write, with the write that overwrote it unseen (if one was found)."""
    frame = cell_table_frame(runs, cells, schema.LOST_UPDATES_FILE, schema.LOST_UPDATE_COLUMNS)
    for column in ("seq", "overwritten_by_seq"):
        converted = dtypes.integers(frame[column])
        frame[column] = converted if converted is not None else frame[column]
    for column in (schema.WORKLOAD_COLUMN, "dc", "client", "op", "table", "overwritten_by_op", "overwritten_by_dc"):
        frame[column] = dtypes.categorical(frame[column])
    for column in ("key", "changes"):
        frame[column] = dtypes.text(frame[column])
    columns = schema.LOST_UPDATE_COLUMNS
    return frame[list(columns) + [c for c in frame.columns if c not in columns]]
