"""cells.csv as one frame: parameters as categoricals in the experiment's order, counts as Int64."""

from __future__ import annotations

import csv
import json
import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from lab.results import dtypes, schema
from lab.results.runs import ResultsWarning, Run


def read_cells(run: Run) -> list[dict[str, Any]]:
    table = run.path / schema.CELLS_FILE
    if table.exists() and table.stat().st_size > 0:
        with table.open(newline="") as handle:
            return [{"run": run.name, **row} for row in csv.DictReader(handle)]
    # cells.csv is rewritten after each cell; a run stopped at the wrong moment still has summary.json files.
    rows = []
    for summary in sorted((run.path / schema.CELLS_DIR).glob(f"*/{schema.SUMMARY_FILE}")):
        try:
            data = json.loads(summary.read_text())
        except json.JSONDecodeError:
            warnings.warn(f"{summary}: unreadable, skipped", ResultsWarning, stacklevel=3)
            continue
        rows.append({"run": run.name, **{k: v for k, v in data.items() if not isinstance(v, (dict, list))}})
    return rows


def parameter_orders(runs: Sequence[Run]) -> dict[str, list[str]]:
    orders = [run.matrix_order() for run in runs]
    return {key: dtypes.ordered_union(order.get(key, []) for order in orders)
            for key in {k for o in orders for k in o}}


def cells_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per cell: `run`, `cell`, parameters (categorical), `status`, counts (Int64), `seconds`, `error`.

    Columns a workload adds follow: its own parameters (categorical), `workload`, and its counts (Int64).
    """
    frame = dtypes.frame([row for run in runs for row in read_cells(run)], schema.CELLS_COLUMNS)
    orders = parameter_orders(runs)
    frame["run"] = dtypes.categorical(frame["run"], [run.name for run in runs])
    source = "cells.csv of " + ", ".join(str(run.path) for run in runs)
    for column in frame.columns:
        known = schema.COLUMNS_BY_NAME.get(column)
        kind = known.kind if known else None
        if column == "run":
            continue
        if kind == schema.CATEGORY or column in orders or column == schema.WORKLOAD_COLUMN:
            order = schema.STATUSES if column == "status" else orders.get(column, ())
            frame[column] = dtypes.categorical(frame[column].replace("", None), order)
        elif kind == schema.COUNT:
            dtypes.as_integer(frame, column, source)
        elif kind == schema.FLOAT:
            frame[column] = pd.to_numeric(frame[column].replace("", None), errors="coerce").astype("float64")
        elif kind == schema.TEXT:
            frame[column] = dtypes.text(frame[column]).fillna("") if column == "error" else dtypes.text(frame[column])
        else:  # a workload's own count (Int64) or label (text)
            converted = dtypes.integers(frame[column])
            frame[column] = converted if converted is not None else dtypes.text(frame[column].replace("", None))
    return frame.reset_index(drop=True)
