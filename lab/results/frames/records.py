"""history.jsonl as frames: every record in order, and the fault records (one row per start or heal)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from lab.results import compat, dtypes, schema
from lab.results.runs import ResultsError, ResultsWarning, Run


def read_history(run: Run) -> list[dict[str, Any]]:
    path = run.path / schema.HISTORY_FILE
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    records = []
    upgrade = run.results_format == 1
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):  # the writer flushes line by line: only a crash cuts the last one short
                warnings.warn(f"{path}:{number}: last line is cut off (the run was interrupted); skipped",
                              ResultsWarning, stacklevel=3)
                continue
            raise ResultsError(f"{path}:{number}: not a JSON record; the history is damaged") from None
        records.append({**(compat.upgrade_record(record) if upgrade else record), "run": run.name})
    return records


def history_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per history record (operations, phases, checks, events, faults), in the order recorded."""
    frame = dtypes.frame([r for run in runs for r in read_history(run)], schema.HISTORY_COLUMNS)
    for column in schema.HISTORY_TIMES:
        frame[column] = dtypes.times(frame[column])
    frame["duration_ms"] = ((frame["end"] - frame["start"]).dt.total_seconds() * 1000).astype("float64")
    for column in schema.HISTORY_INTEGERS:
        converted = dtypes.integers(frame[column])
        if converted is not None:  # a workload may use non-integer keys; keep them as they are
            frame[column] = converted
    for column in schema.HISTORY_TEXT:
        frame[column] = dtypes.text(frame[column])
    phase_order = list(dict.fromkeys(frame["phase"].dropna().astype(str)))
    for column in schema.HISTORY_CATEGORIES:
        order = [run.name for run in runs] if column == "run" else phase_order if column == "phase" else ()
        frame[column] = dtypes.categorical(frame[column], order)
    return frame.reset_index(drop=True)


TARGET_FIELDS = ("target", "link", "between", "server", "dc", "servers", "links")


def _first(record: dict[str, Any], names: Sequence[str]) -> Any:
    for name in names:
        value = record.get(name)
        if not dtypes.missing(value):
            return value
    return None


def _target(record: dict[str, Any]) -> str | None:
    """What a fault acted on: a field of the record, else of its `params` (a list joined with '-')."""
    params = record.get("params") if isinstance(record.get("params"), dict) else {}
    target = _first(record, TARGET_FIELDS)
    if target is None:
        target = _first(params, TARGET_FIELDS)
    if isinstance(target, (list, tuple)):
        target = "-".join(str(t) for t in target)
    return None if target is None else str(target)


def faults_frame(history: pd.DataFrame) -> pd.DataFrame:
    """History records of type "fault": one row per start or heal, with `fault`, `action` and `target`.

    The fault's name is taken from its `fault`, `name` or `kind` field, the action from `event` or
    `action`, the target from `target`, `link(s)`, `between`, `server` or `dc` (or the same fields of
    its `params`); other fields stay as columns.
    """
    records = history[history["type"].astype(object) == "fault"] if "type" in history else history.iloc[0:0]
    records = records.dropna(axis=1, how="all")
    rows = [{**record, "fault": _first(record, ("fault", "name", "kind")),
             "action": _first(record, ("event", "action")), "target": _target(record)}
            for record in records.to_dict("records")]
    frame = dtypes.frame(rows, schema.FAULT_COLUMNS)
    drop = [c for c in ("type", "experiment", "event", "name", "kind") if c in frame.columns
            and c not in schema.FAULT_COLUMNS]
    frame = frame.drop(columns=drop)
    for column in ("run", "cell", "phase"):
        categories = history[column].cat.categories if column in history and hasattr(history[column], "cat") else ()
        frame[column] = dtypes.categorical(frame[column], list(categories))
    for column in ("fault", "action", "target"):
        frame[column] = dtypes.categorical(frame[column])
    frame["time"] = pd.to_datetime(frame["time"], utc=True).astype(schema.TIME_DTYPE)
    converted = dtypes.integers(frame["seq"])
    frame["seq"] = converted if converted is not None else frame["seq"]
    return frame.reset_index(drop=True)
