"""Load run directories into tidy pandas DataFrames for analysis, plots and reports.

    from lab import results
    r = results.load("results/")            # every run under results/ (or one run dir, a glob, or a list)
    r = results.load_latest("results/")     # only the most recent run
    r.cells, r.history, r.divergence, r.faults, r.timeseries   # DataFrames, each with a `run` column
    r.violations, r.lost_updates            # workload cells: broken invariants, lost writes and who overwrote them
    r.unhealed()                            # rows still diverged at their cell's last check

A run directory is whatever `lab run` wrote (see lab.experiment.results), recognised by its run.json,
whose `results_format` says which layout its files follow. A format newer than this lab knows is refused
with one line that says what to do, instead of loading half-understood columns.

Every frame starts with a `run` column (the run directory's name) so frames from many runs can be
concatenated and compared. Parameters are categoricals in the order the experiment file lists them,
counts are nullable integers (a failed cell has no counts, not zeros), times are UTC datetimes, text is
the nullable "string" dtype. Frames keep their documented columns even when a run has nothing to put in
them. Frames are read on first use and cached, so a notebook that only needs `cells` never parses the
history.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from lab.errors import LabError
from lab.experiment.results import RESULTS_FORMAT, SUMMARY_COLUMNS, lab_version
from lab.experiment.spec import MATRIX_KEYS

# === run directories ===========================================================================
# Every layout this loader understands. Format 1 is the first one `lab run` wrote.
SUPPORTED_FORMATS = frozenset(range(1, RESULTS_FORMAT + 1))
_GLOB_CHARACTERS = frozenset("*?[")


class ResultsError(LabError):
    """Results that cannot be loaded; `str()` is one line naming the directory and what to do."""


@dataclass(frozen=True)
class Run:
    """One run directory and its run.json, validated."""

    path: Path
    meta: dict[str, Any] = field(repr=False)
    name: str = ""

    @property
    def results_format(self) -> int:
        return int(self.meta["results_format"])

    @property
    def started(self) -> float:
        value = self.meta.get("started")
        return float(value) if isinstance(value, (int, float)) else 0.0

    @property
    def kind(self) -> str:
        """incident, timeline or workload: from run.json, or the stored experiment file for older runs."""
        if self.meta.get("kind"):
            return str(self.meta["kind"])
        data = self._experiment()
        return str(data.get("kind", "incident")) if isinstance(data, dict) else "incident"

    def _experiment(self) -> Any:
        experiment = self.path / "experiment.yaml"
        try:
            return yaml.safe_load(experiment.read_text()) if experiment.exists() else None
        except (OSError, yaml.YAMLError):
            return None

    def matrix_order(self) -> dict[str, list[str]]:
        """The experiment's matrix as written in its file: the natural order of every parameter's values."""
        data = self._experiment()
        matrix = data.get("matrix") if isinstance(data, dict) else None
        if not isinstance(matrix, dict):
            return {}
        return {str(k): [str(v) for v in values] for k, values in matrix.items() if isinstance(values, list)}


def open_run(path: str | Path) -> Run:
    """Validate one run directory. Raises ResultsError with a one-line message."""
    path = Path(path)
    meta_file = path / "run.json"
    if not meta_file.is_file():
        raise ResultsError(f"{path}: not a run directory (no run.json); pass a directory written by `lab run`")
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{meta_file}: unreadable run.json ({exc}); the run may have been interrupted "
                           "while writing it") from None
    if not isinstance(meta, dict):
        raise ResultsError(f"{meta_file}: run.json is not a JSON object")
    check_format(path, meta)
    return Run(path=path, meta=meta, name=path.name)


def check_format(path: Path, meta: dict[str, Any]) -> None:
    """Refuse formats this lab does not know, saying which lab wrote them and which it can read."""
    found = meta.get("results_format")
    writer = meta.get("lab_version", "an unknown lab version")
    readable = ", ".join(str(f) for f in sorted(SUPPORTED_FORMATS))
    if isinstance(found, bool) or not isinstance(found, int):
        raise ResultsError(f"{path}: run.json has no valid results_format (found {found!r}, written by lab "
                           f"{writer}); this lab {lab_version()} reads format {readable}")
    if found > max(SUPPORTED_FORMATS):
        raise ResultsError(f"{path}: results_format {found} (written by lab {writer}) is newer than this lab "
                           f"{lab_version()} can read (format {readable}); upgrade mysql-replication-lab to load it")
    if found not in SUPPORTED_FORMATS:
        raise ResultsError(f"{path}: unknown results_format {found} (written by lab {writer}); "
                           f"this lab {lab_version()} reads format {readable}")


def _expand(source: str | Path) -> list[Path]:
    text = os.path.expanduser(str(source))
    if _GLOB_CHARACTERS & set(text):
        matches = sorted(Path(p) for p in glob.glob(text) if Path(p).is_dir())
        if not matches:
            raise ResultsError(f"{text}: the pattern matches no directory")
        return matches
    path = Path(text)
    if not path.exists():
        raise ResultsError(f"{path}: no such directory")
    if not path.is_dir():
        raise ResultsError(f"{path}: not a directory; pass a run directory, a parent of runs, or a glob")
    return [path]


def find_runs(sources: str | Path | Iterable[str | Path]) -> list[Run]:
    """Every run under `sources`, oldest first.

    Each source is a run directory, a directory whose subdirectories are runs (such as `results/`),
    or a glob of either. Runs are ordered by their start time, so the last one is the latest.
    """
    items = [sources] if isinstance(sources, (str, Path)) else list(sources)
    if not items:
        raise ResultsError("no results directory given")
    found: dict[Path, Run] = {}
    for item in items:
        for directory in _expand(item):
            if (directory / "run.json").exists():
                candidates = [directory]
            else:
                candidates = sorted(child for child in directory.iterdir() if (child / "run.json").is_file())
                if not candidates and not _GLOB_CHARACTERS & set(str(item)):
                    raise ResultsError(f"{directory}: no run directories in it (none has a run.json); "
                                       "run `lab run EXPERIMENT` or `lab demo` first")
            for candidate in candidates:
                found.setdefault(candidate.resolve(), open_run(candidate))
    if not found:
        raise ResultsError(f"{', '.join(str(i) for i in items)}: no run directories found")
    runs = sorted(found.values(), key=lambda run: (run.started, run.name))
    return _unique_names(runs)


def _unique_names(runs: list[Run]) -> list[Run]:
    """Name runs by their directory; when two directories share a name, prefix the parent to tell them apart."""
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.path.name] = counts.get(run.path.name, 0) + 1
    return [Run(run.path, run.meta, run.path.name if counts[run.path.name] == 1
                else f"{run.path.parent.name}/{run.path.name}") for run in runs]


def latest_run(sources: str | Path | Iterable[str | Path]) -> Run:
    """The most recently started run under `sources` (a run directory is its own latest run)."""
    return find_runs(sources)[-1]


# === frames ===================================================================================
class ResultsWarning(UserWarning):
    """Something in a run was skipped but the rest loaded (e.g. a history line cut off by a crash)."""


PARAMETERS: tuple[str, ...] = tuple(MATRIX_KEYS)
CELL_TEXT_COLUMNS = ("cell", "status", "error")
CELL_FLOAT_COLUMNS = ("seconds",)
# Every other column of cells.csv is a count: whatever new counts a later lab adds become Int64 too.
CELL_COUNT_COLUMNS: tuple[str, ...] = tuple(
    c for c in SUMMARY_COLUMNS if c not in PARAMETERS + CELL_TEXT_COLUMNS + CELL_FLOAT_COLUMNS)
CELLS_COLUMNS: tuple[str, ...] = ("run", *SUMMARY_COLUMNS)

HISTORY_COLUMNS: tuple[str, ...] = (
    "run", "cell", "seq", "type", "time", "phase", "event", "name", "dc", "server", "client", "kind", "op", "guard",
    "table", "key", "value", "version", "read_version", "new_version", "rows_affected", "error", "start", "end",
    "duration_ms", "statement", "experiment",
)
_HISTORY_CATEGORIES = ("run", "cell", "experiment", "type", "phase", "event", "name", "dc", "server", "client",
                       "kind", "op", "guard", "table")
_HISTORY_INTEGERS = ("seq", "key", "version", "read_version", "new_version", "rows_affected")
_HISTORY_TIMES = ("time", "start", "end")
_HISTORY_TEXT = ("value", "error", "statement")

DIVERGENCE_COLUMNS: tuple[str, ...] = (
    "run", "cell", *PARAMETERS, "key", "check", "table", "kind", "dcs", "verdict", "lost_update_on_key",
    "stuck", "never_written_again", "healed_by_fix",
)
VIOLATION_COLUMNS: tuple[str, ...] = ("run", "cell", "workload", "invariant", "dc", "table", "key", "detail")
LOST_UPDATE_COLUMNS: tuple[str, ...] = (
    "run", "cell", "workload", "seq", "dc", "client", "op", "table", "key", "changes",
    "overwritten_by_seq", "overwritten_by_op", "overwritten_by_dc",
)
FAULT_COLUMNS: tuple[str, ...] = ("run", "cell", "seq", "time", "phase", "fault", "action", "target")
TIMESERIES_COLUMNS: tuple[str, ...] = (
    "run", "cell", "time", "t", "phase", "diverged_rows", "link", "io", "sql", "lag_s",
    "last_sql_errno", "last_io_errno", "active_faults",
)
SHARE_PREFIX = "share_"
TIME_DTYPE = "datetime64[ns, UTC]"


# --- helpers --------------------------------------------------------------------------------
def _missing(value: Any) -> bool:
    """None, "", NaN, NaT or NA; a list or dict (e.g. `diverged_keys`) is a value."""
    if value is None or (isinstance(value, str) and value == ""):
        return True
    return not isinstance(value, (list, tuple, dict, set)) and bool(pd.isna(value))


def _integers(values: Iterable[Any]) -> pd.api.extensions.ExtensionArray | None:
    """Exact nullable integers (no trip through float), or None when some value is not an integer."""
    cleaned = [None if _missing(v) else v for v in values]
    try:
        return pd.array(cleaned, dtype="Int64")
    except (TypeError, ValueError):
        return None


def _as_integer(frame: pd.DataFrame, column: str, source: str) -> None:
    converted = _integers(frame[column])
    if converted is None:
        raise ResultsError(f"{source}: column {column} holds values that are not whole numbers")
    frame[column] = converted


def _ordered_union(orders: Iterable[Sequence[str]]) -> list[str]:
    """Merge several orderings into one, keeping each value after the values it followed where first seen."""
    merged: list[str] = []
    for order in orders:
        previous = -1
        for value in order:
            if value in merged:
                previous = merged.index(value)
            else:
                merged.insert(previous + 1, value)
                previous += 1
    return merged


def _categorical(series: pd.Series, order: Sequence[str] = (), ordered: bool = False) -> pd.Series:
    raw = series.astype(object)
    strings = [None if pd.isna(v) else str(v) for v in raw]
    present = set(v for v in strings if v is not None)
    known = [v for v in dict.fromkeys(order) if v in present]
    categories = known + sorted(present - set(known))
    return pd.Series(pd.Categorical(strings, categories=categories, ordered=ordered), index=series.index,
                     name=series.name)


def _text(series: pd.Series) -> pd.Series:
    """Text as the nullable "string" dtype (the same in pandas 2 and 3; a missing value stays missing)."""
    values = [None if pd.isna(v) else str(v) for v in series.astype(object)]
    return pd.Series(pd.array(values, dtype="string"), index=series.index, name=series.name)


def _times(series: pd.Series) -> pd.Series:
    """Epoch seconds (how the lab records time) or ISO-8601 strings, as UTC datetimes."""
    numeric = pd.to_numeric(series, errors="coerce")
    if numeric.notna().sum() == series.notna().sum():
        return pd.to_datetime(numeric, unit="s", utc=True).astype(TIME_DTYPE)
    return pd.to_datetime(series, utc=True, errors="coerce", format="ISO8601").astype(TIME_DTYPE)


def _parameter_orders(runs: Sequence[Run]) -> dict[str, list[str]]:
    orders = [run.matrix_order() for run in runs]
    return {key: _ordered_union(order.get(key, []) for order in orders) for key in {k for o in orders for k in o}}


def _frame(records: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    for column in columns:
        if column not in frame.columns:
            frame[column] = pd.Series([None] * len(frame), dtype=object)
    extras = [c for c in frame.columns if c not in columns]
    for column in extras:  # a field no record filled (e.g. an optional None) stays None, not NaN floats
        if frame[column].isna().all():
            frame[column] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    return frame[list(columns) + extras]


# --- cells ------------------------------------------------------------------------------------
def _read_cells(run: Run) -> list[dict[str, Any]]:
    table = run.path / "cells.csv"
    if table.exists() and table.stat().st_size > 0:
        with table.open(newline="") as handle:
            return [{"run": run.name, **row} for row in csv.DictReader(handle)]
    # cells.csv is rewritten after each cell; a run stopped at the wrong moment still has summary.json files.
    rows = []
    for summary in sorted((run.path / "cells").glob("*/summary.json")):
        try:
            data = json.loads(summary.read_text())
        except json.JSONDecodeError:
            warnings.warn(f"{summary}: unreadable, skipped", ResultsWarning, stacklevel=3)
            continue
        rows.append({"run": run.name, **{k: v for k, v in data.items() if not isinstance(v, (dict, list))}})
    return rows


def cells_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per cell: `run`, `cell`, parameters (categorical), `status`, counts (Int64), `seconds`, `error`."""
    frame = _frame([row for run in runs for row in _read_cells(run)], CELLS_COLUMNS)
    orders = _parameter_orders(runs)
    frame["run"] = _categorical(frame["run"], [run.name for run in runs])
    source = "cells.csv of " + ", ".join(str(run.path) for run in runs)
    for column in frame.columns:
        if column in PARAMETERS or column in orders:
            frame[column] = _categorical(frame[column].replace("", None), orders.get(column, ()))
        elif column == "status":
            frame[column] = _categorical(frame[column].replace("", None), ("completed", "failed"))
        elif column in CELL_COUNT_COLUMNS:
            _as_integer(frame, column, source)
        elif column in CELL_FLOAT_COLUMNS:
            frame[column] = pd.to_numeric(frame[column].replace("", None), errors="coerce").astype("float64")
        elif column in ("cell", "error"):
            frame[column] = _text(frame[column]).fillna("") if column == "error" else _text(frame[column])
        elif column != "run":  # a workload's own count (Int64) or label (text)
            converted = _integers(frame[column])
            frame[column] = converted if converted is not None else _text(frame[column].replace("", None))
    return frame.reset_index(drop=True)


# --- history ----------------------------------------------------------------------------------
def _read_history(run: Run) -> list[dict[str, Any]]:
    path = run.path / "history.jsonl"
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    records = []
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
        records.append({**record, "run": run.name})
    return records


def history_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per history record (operations, phases, checks, events, faults), in the order recorded."""
    frame = _frame([r for run in runs for r in _read_history(run)], HISTORY_COLUMNS)
    return _history_types(frame, runs)


def _history_types(frame: pd.DataFrame, runs: Sequence[Run]) -> pd.DataFrame:
    frame = frame.copy()
    for column in _HISTORY_TIMES:
        frame[column] = _times(frame[column])
    frame["duration_ms"] = ((frame["end"] - frame["start"]).dt.total_seconds() * 1000).astype("float64")
    for column in _HISTORY_INTEGERS:
        converted = _integers(frame[column])
        if converted is not None:  # a later workload may use non-integer keys; keep them as they are
            frame[column] = converted
    for column in _HISTORY_TEXT:
        frame[column] = _text(frame[column])
    phase_order = list(dict.fromkeys(frame["phase"].dropna().astype(str)))
    for column in _HISTORY_CATEGORIES:
        order = [run.name for run in runs] if column == "run" else phase_order if column == "phase" else ()
        frame[column] = _categorical(frame[column], order)
    return frame.reset_index(drop=True)


# --- faults -----------------------------------------------------------------------------------
def _first(record: dict[str, Any], names: Sequence[str]) -> Any:
    for name in names:
        value = record.get(name)
        if not _missing(value):
            return value
    return None


def faults_frame(history: pd.DataFrame) -> pd.DataFrame:
    """History records of type "fault": one row per start or heal, with `fault`, `action` and `target`.

    The fault's name is taken from its `fault`, `name` or `kind` field, the action from `event` or
    `action`, the target from `target`, `link`, `between`, `server` or `dc`; other fields stay as columns.
    """
    records = history[history["type"].astype(object) == "fault"] if "type" in history else history.iloc[0:0]
    records = records.dropna(axis=1, how="all")
    rows = []
    for record in records.to_dict("records"):
        target = _first(record, ("target", "link", "between", "server", "dc"))
        if isinstance(target, (list, tuple)):
            target = "-".join(str(t) for t in target)
        rows.append({**record, "fault": _first(record, ("fault", "name", "kind")),
                     "action": _first(record, ("event", "action")), "target": target})
    frame = _frame(rows, FAULT_COLUMNS)
    drop = [c for c in ("type", "experiment", "event", "name", "kind") if c in frame.columns and c not in FAULT_COLUMNS]
    frame = frame.drop(columns=drop)
    for column in ("run", "cell", "phase"):
        categories = history[column].cat.categories if column in history and hasattr(history[column], "cat") else ()
        frame[column] = _categorical(frame[column], list(categories))
    for column in ("fault", "action", "target"):
        frame[column] = _categorical(frame[column])
    frame["time"] = pd.to_datetime(frame["time"], utc=True).astype(TIME_DTYPE)
    converted = _integers(frame["seq"])
    frame["seq"] = converted if converted is not None else frame["seq"]
    return frame.reset_index(drop=True)


# --- divergence -------------------------------------------------------------------------------
def _read_divergence(run: Run, cell: str) -> pd.DataFrame | None:
    path = run.path / "cells" / cell / "divergence.csv"
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return None
    if table.empty:
        return None
    if "check" not in table.columns:
        raise ResultsError(f"{path}: no `check` column; not a divergence table this lab can read")
    keys = list(table.columns[: list(table.columns).index("check")])
    if not keys:
        raise ResultsError(f"{path}: no key column before `check`")
    if keys != ["key"]:  # workload cells already write their key as one `key` column
        table.insert(0, "key", table[keys[0]] if len(keys) == 1 else table[keys].agg("|".join, axis=1))
    redundant = [c for c in keys if c != "key"] + [f"{dc}.{k}" for dc in _dcs(table) for k in keys]
    table = table.drop(columns=[c for c in redundant if c in table.columns])
    table.insert(0, "cell", cell)
    table.insert(0, "run", run.name)
    return table


def _dcs(table: pd.DataFrame) -> list[str]:
    return [c[: -len(".present")] for c in table.columns if c.endswith(".present")]


def divergence_frame(runs: Sequence[Run], cells: pd.DataFrame) -> pd.DataFrame:
    """One row per diverged row per check, with each DC's values side by side and the cell's parameters.

    Per DC: `<dc>.present` (boolean) and `<dc>.<column>` for each table column (Int64 when every value
    is a whole number, text otherwise; missing where the row is absent on that DC). Flags read from the
    recorded verdict: `stuck`, `never_written_again`, and `healed_by_fix` (NA when no fix applied to it).
    """
    tables = []
    for run in runs:
        listed = cells.loc[cells["run"].astype(object) == run.name, "cell"].dropna().astype(str).tolist()
        on_disk = sorted(p.name for p in (run.path / "cells").glob("*") if p.is_dir())
        for cell in dict.fromkeys(listed + on_disk):
            table = _read_divergence(run, cell)
            if table is not None:
                tables.append(table)
    frame = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    check_orders = [list(dict.fromkeys(t["check"])) for t in tables]
    parameters = cells[["run", "cell", *PARAMETERS]].copy() if len(cells.columns) else None
    base = _frame(frame.to_dict("records"), [c for c in DIVERGENCE_COLUMNS if c not in PARAMETERS])
    if parameters is not None and not base.empty:
        parameters["run"], parameters["cell"] = parameters["run"].astype(object), parameters["cell"].astype(object)
        base = base.merge(parameters, on=["run", "cell"], how="left")
    for column in PARAMETERS:
        if column not in base.columns:
            base[column] = pd.Series(dtype=object)
        base[column] = _categorical(base[column], list(cells[column].cat.categories) if column in cells else ())
    verdict = base["verdict"].fillna("").astype(str)
    base["stuck"] = verdict.str.startswith("stuck").astype("boolean")
    base["never_written_again"] = verdict.str.contains("never written again", regex=False).astype("boolean")
    healed = pd.Series(pd.NA, index=base.index, dtype="boolean")
    healed[verdict.str.contains("healed by fix", regex=False)] = True
    healed[verdict.str.contains("still diverged after fix", regex=False)] = False
    base["healed_by_fix"] = healed
    base["lost_update_on_key"] = base["lost_update_on_key"].map(
        lambda v: pd.NA if v in (None, "") or pd.isna(v) else str(v) == "True").astype("boolean")
    converted = _integers(base["key"])
    base["key"] = converted if converted is not None else _text(base["key"])
    base["run"] = _categorical(base["run"], [run.name for run in runs])
    base["cell"] = _categorical(base["cell"], list(cells["cell"].dropna().astype(str)) if "cell" in cells else ())
    base["check"] = _categorical(base["check"], _ordered_union(check_orders), ordered=True)
    for column in ("kind", "dcs"):
        base[column] = _categorical(base[column].replace("", None))
    base["verdict"] = _text(base["verdict"])
    base = _per_dc_types(base)
    ordered = list(DIVERGENCE_COLUMNS)
    return base[ordered + sorted(c for c in base.columns if c not in ordered)].reset_index(drop=True)


def _per_dc_types(frame: pd.DataFrame) -> pd.DataFrame:
    for dc in _dcs(frame):
        present = frame[f"{dc}.present"].map(lambda v: pd.NA if v in (None, "") or pd.isna(v) else str(v) == "True")
        frame[f"{dc}.present"] = present.astype("boolean")
        absent = ~frame[f"{dc}.present"].fillna(False).astype(bool)
        for column in [c for c in frame.columns if c.startswith(f"{dc}.") and c != f"{dc}.present"]:
            values = frame[column].where(~absent, None)
            converted = _integers(values)
            frame[column] = converted if converted is not None else _text(values)
    return frame


# --- timeseries -------------------------------------------------------------------------------
def _read_timeseries(run: Run) -> pd.DataFrame | None:
    """The run-level timeseries.csv, or else the per-cell ones (the run-level file holds them all)."""
    run_level = run.path / "timeseries.csv"
    paths = [run_level] if run_level.exists() else sorted((run.path / "cells").glob("*/timeseries.csv"))
    tables = []
    for path in paths:
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError:
            continue
        if "cell" not in table.columns:
            table["cell"] = path.parent.name
        tables.append(table)
    if not tables:
        return None
    frame = pd.concat(tables, ignore_index=True)
    frame.insert(0, "run", run.name)
    return frame


def timeseries_frame(runs: Sequence[Run], cells: pd.DataFrame) -> pd.DataFrame:
    """Sampled divergence and replication state: one row per sample and replication link.

    Columns: `time` (UTC), `t` (seconds since the cell's traffic started), `phase`, `diverged_rows`
    (Int64; NA while a comparison had not finished), `link` ("dc1->dc2"), `io`/`sql` thread states
    ("Yes", "No", "Connecting", "unreachable", ...), `lag_s` (float; NaN when the server reports none),
    `last_sql_errno`/`last_io_errno`, `active_faults` (comma-separated), and `share_<dc>` (0..1,
    that DC's planned share of traffic). Empty, with these columns, for runs that sampled nothing.
    """
    tables = [t for t in (_read_timeseries(run) for run in runs) if t is not None]
    frame = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    frame = _frame(frame.to_dict("records"), TIMESERIES_COLUMNS).replace("", None)
    frame["time"] = _times(frame["time"])
    for column in ["t", "lag_s", *[c for c in frame.columns if c.startswith(SHARE_PREFIX)]]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in ("diverged_rows", "last_sql_errno", "last_io_errno"):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        whole = numbers.dropna()
        frame[column] = numbers.astype("Int64") if (whole == whole.round()).all() else numbers
    frame["run"] = _categorical(frame["run"], [run.name for run in runs])
    frame["cell"] = _categorical(frame["cell"], list(cells["cell"].dropna().astype(str)) if "cell" in cells else ())
    for column in ("phase", "link", "io", "sql"):
        frame[column] = _categorical(frame[column], list(dict.fromkeys(frame[column].dropna().astype(str))))
    frame["active_faults"] = _text(frame["active_faults"]).fillna("")
    shares = sorted(c for c in frame.columns if c.startswith(SHARE_PREFIX))
    ordered = list(TIMESERIES_COLUMNS) + shares
    return frame[ordered + [c for c in frame.columns if c not in ordered]].reset_index(drop=True)


# --- workload cells: broken invariants and lost writes ---------------------------------------
def _cell_csv_frame(runs: Sequence[Run], cells: pd.DataFrame, file_name: str,
                    columns: Sequence[str]) -> pd.DataFrame:
    """Concatenate cells/<cell>/<file_name> of every run, with `run`, `cell` and the cell's `workload`."""
    tables = []
    for run in runs:
        for path in sorted((run.path / "cells").glob(f"*/{file_name}")):
            try:
                table = pd.read_csv(path, dtype=str, keep_default_na=False)
            except pd.errors.EmptyDataError:
                continue
            if not table.empty:
                tables.append(table.assign(run=run.name, cell=path.parent.name))
    frame = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    frame = _frame(frame.to_dict("records"), columns).replace("", None)
    workloads = {}
    if "workload" in cells.columns and len(cells):
        workloads = dict(zip(zip(cells["run"].astype(str), cells["cell"].astype(str), strict=True),
                             cells["workload"].astype(object), strict=True))
    frame["workload"] = [workloads.get((str(r), str(c))) for r, c in zip(frame["run"], frame["cell"], strict=True)]
    frame["run"] = _categorical(frame["run"], [run.name for run in runs])
    frame["cell"] = _categorical(frame["cell"], list(cells["cell"].dropna().astype(str)) if "cell" in cells else ())
    return frame


def violations_frame(runs: Sequence[Run], cells: pd.DataFrame) -> pd.DataFrame:
    """One row per broken invariant of a workload cell: `invariant`, `dc` ("*": across DCs), `table`, `key`."""
    frame = _cell_csv_frame(runs, cells, "violations.csv", VIOLATION_COLUMNS)
    for column in ("workload", "invariant", "dc", "table"):
        frame[column] = _categorical(frame[column])
    for column in ("key", "detail"):
        frame[column] = _text(frame[column])
    return frame[list(VIOLATION_COLUMNS) + [c for c in frame.columns if c not in VIOLATION_COLUMNS]]


def lost_updates_frame(runs: Sequence[Run], cells: pd.DataFrame) -> pd.DataFrame:
    """One row per lost write of a workload cell, with the write that overwrote it unseen (if one was found)."""
    frame = _cell_csv_frame(runs, cells, "lost_updates.csv", LOST_UPDATE_COLUMNS)
    for column in ("seq", "overwritten_by_seq"):
        converted = _integers(frame[column])
        frame[column] = converted if converted is not None else frame[column]
    for column in ("workload", "dc", "client", "op", "table", "overwritten_by_op", "overwritten_by_dc"):
        frame[column] = _categorical(frame[column])
    for column in ("key", "changes"):
        frame[column] = _text(frame[column])
    return frame[list(LOST_UPDATE_COLUMNS) + [c for c in frame.columns if c not in LOST_UPDATE_COLUMNS]]


# === answers computed from the frames ==========================================================
UNHEALED_COLUMNS: tuple[str, ...] = (
    "run", "cell", *PARAMETERS, "key", "first_check", "final_check", "kind", "verdict", "lost_update_on_key",
)
INTERVAL_COLUMNS: tuple[str, ...] = ("run", "cell", "fault", "target", "start", "end", "healed", "source")
# The incident's deterministic overlap holds every applier: the lab's own, recorded as two history events.
HOLD_EVENTS = ("hold_appliers", "release_appliers")


def final_checks(cells: pd.DataFrame, divergence: pd.DataFrame) -> pd.DataFrame:
    """The last check each cell ran: `after_fix` when it applied a fix, else the last one before it.

    A cell whose last check found nothing has no row for that check in divergence.csv, so the last check
    is read from the cell's counts (a fix leaves `diverged_after_fix` set) and the checks' known order.
    """
    checks = list(divergence["check"].cat.categories) if len(divergence) else []
    before_fix = [c for c in checks if c != "after_fix"]
    rows = []
    for cell in cells.itertuples(index=False):
        if getattr(cell, "status", "completed") != "completed":
            continue
        fixed = "diverged_after_fix" in cells.columns and not pd.isna(cell.diverged_after_fix)
        rows.append({"run": cell.run, "cell": cell.cell,
                     "final_check": "after_fix" if fixed else (before_fix[-1] if before_fix else pd.NA)})
    return pd.DataFrame(rows, columns=["run", "cell", "final_check"])


def unhealed_rows(cells: pd.DataFrame, divergence: pd.DataFrame) -> pd.DataFrame:
    """Rows still diverged at their cell's last check: nothing the lab or the app did made them converge.

    One row per (run, cell, key): its parameters, when it first diverged, the last check, the verdict,
    and every DC's values at the last check.
    """
    if divergence.empty or cells.empty:
        return pd.DataFrame(columns=list(UNHEALED_COLUMNS))
    last = final_checks(cells, divergence).dropna(subset=["final_check"])
    frame = divergence.assign(run=divergence["run"].astype(object), cell=divergence["cell"].astype(object))
    last = last.assign(run=last["run"].astype(object), cell=last["cell"].astype(object))
    first = (frame.sort_values("check").groupby(["run", "cell", "key"], observed=True, as_index=False)["check"]
             .first().rename(columns={"check": "first_check"}))
    final = frame.merge(last, on=["run", "cell"])
    final = final[final["check"].astype(str) == final["final_check"].astype(str)]
    final = final.merge(first, on=["run", "cell", "key"], how="left")
    dc_columns = [c for c in divergence.columns if "." in c]
    out = final[[*UNHEALED_COLUMNS, *dc_columns]].copy()
    for column in ("run", "cell"):
        out[column] = out[column].astype(divergence[column].dtype)
    out["first_check"] = out["first_check"].astype(divergence["check"].dtype)
    return out.sort_values(["run", "cell", "key"]).reset_index(drop=True)


def fault_intervals(faults: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each fault as one interval: when it started and when it healed (NaT and healed=False if never).

    Starts and heals are paired per (run, cell, fault, target) in order. With `history`, the incident's
    held appliers (the forced overlap) are included as a fault named "appliers held".
    """
    rows = []
    if not faults.empty:
        ordered = faults.sort_values("time")
        for (run, cell, fault, target), group in ordered.groupby(
                ["run", "cell", "fault", "target"], observed=True, dropna=False, sort=False):
            open_since: list[pd.Timestamp] = []
            for record in group.itertuples(index=False):
                action = str(record.action).lower()
                if action in ("start", "inject", "begin"):
                    open_since.append(record.time)
                elif action in ("heal", "stop", "end") and open_since:
                    rows.append({"run": run, "cell": cell, "fault": fault, "target": target,
                                 "start": open_since.pop(0), "end": record.time, "healed": True, "source": "fault"})
            rows += [{"run": run, "cell": cell, "fault": fault, "target": target, "start": start,
                      "end": pd.NaT, "healed": False, "source": "fault"} for start in open_since]
    if history is not None and not history.empty:
        held = history[history["event"].astype(object).isin(HOLD_EVENTS)].sort_values("time")
        for (run, cell), group in held.groupby(["run", "cell"], observed=True, sort=False):
            starts = group.loc[group["event"].astype(object) == HOLD_EVENTS[0], "time"].tolist()
            ends = group.loc[group["event"].astype(object) == HOLD_EVENTS[1], "time"].tolist()
            for index, start in enumerate(starts):
                end = ends[index] if index < len(ends) else pd.NaT
                rows.append({"run": run, "cell": cell, "fault": "appliers stopped (forced overlap)",
                             "target": "every replica",
                             "start": start, "end": end, "healed": index < len(ends), "source": "history"})
    frame = pd.DataFrame(rows, columns=list(INTERVAL_COLUMNS))
    for column in ("start", "end"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype(TIME_DTYPE)
    return frame


def check_counts(history: pd.DataFrame) -> pd.DataFrame:
    """Diverged rows found at every check of every cell, with when it ran: the per-check divergence timeline."""
    checks = history[(history["type"].astype(object) == "event") & (history["event"].astype(object) == "check")]
    if checks.empty:
        return pd.DataFrame(columns=["run", "cell", "check", "time", "diverged_rows"])
    frame = checks[["run", "cell", "name", "time"]].rename(columns={"name": "check"}).reset_index(drop=True)
    frame["check"] = frame["check"].astype(str)
    frame["diverged_rows"] = pd.array([len(k) if isinstance(k, list) else None for k in checks["diverged_keys"]],
                                      dtype="Int64")
    return frame


def cell_start(history: pd.DataFrame, run: str, cell: str) -> pd.Timestamp:
    """When a cell started (its `cell start` record), the zero of its timelines."""
    mine = history[(history["run"].astype(object) == run) & (history["cell"].astype(object) == cell)]
    if mine.empty:
        raise KeyError(f"no history for cell {cell} of run {run}")
    starts = mine.loc[mine["type"].astype(object) == "cell", "time"]
    return starts.iloc[0] if len(starts) else mine["time"].min()


# === the API ==================================================================================
Sources = str | Path | Iterable[str | Path]


class Results:
    """The frames of one or more runs; each property is loaded on first access."""

    def __init__(self, runs: list[Run]) -> None:
        if not runs:
            raise ResultsError("no runs to load")
        self.runs = runs

    def __repr__(self) -> str:
        return f"Results({len(self.runs)} run(s): {', '.join(run.name for run in self.runs)})"

    @property
    def path(self) -> Path:
        """The directory of the latest run (the one a report about "these results" is written into)."""
        return self.runs[-1].path

    @cached_property
    def info(self) -> pd.DataFrame:
        """One row per run: its run.json, with `started`/`finished` as datetimes."""
        rows = [{"run": run.name, "path": str(run.path), **{k: v for k, v in run.meta.items() if k != "argv"}}
                for run in self.runs]
        frame = pd.DataFrame(rows)
        for column in ("started", "finished"):
            if column in frame:
                frame[column] = pd.to_datetime(pd.to_numeric(frame[column], errors="coerce"), unit="s", utc=True)
        return frame

    @cached_property
    def cells(self) -> pd.DataFrame:
        return cells_frame(self.runs)

    @cached_property
    def history(self) -> pd.DataFrame:
        return history_frame(self.runs)

    @cached_property
    def divergence(self) -> pd.DataFrame:
        return divergence_frame(self.runs, self.cells)

    @cached_property
    def faults(self) -> pd.DataFrame:
        return faults_frame(self.history)

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        return timeseries_frame(self.runs, self.cells)

    @cached_property
    def violations(self) -> pd.DataFrame:
        """Broken invariants of workload cells (lab.workloads), one row each."""
        return violations_frame(self.runs, self.cells)

    @cached_property
    def lost_updates(self) -> pd.DataFrame:
        """Lost writes of workload cells, with the write that overwrote each one unseen."""
        return lost_updates_frame(self.runs, self.cells)

    def unhealed(self) -> pd.DataFrame:
        """Rows that never healed (see unhealed_rows)."""
        return unhealed_rows(self.cells, self.divergence)


def load(sources: Sources) -> Results:
    """Every run under `sources`: a run directory, a parent of run directories, a glob, or a list of those."""
    return Results(find_runs(sources))


def load_latest(sources: Sources, per_experiment: bool = False) -> Results:
    """Only the most recently started run under `sources`; or, with `per_experiment`, the latest of each."""
    if not per_experiment:
        return Results([latest_run(sources)])
    latest: dict[str, Run] = {}
    for run in find_runs(sources):  # oldest first, so later runs replace earlier ones
        latest[str(run.meta.get("experiment", run.name))] = run
    return Results(sorted(latest.values(), key=lambda run: (run.started, run.name)))


def load_cells(sources: Sources) -> pd.DataFrame:
    return load(sources).cells


def load_history(sources: Sources) -> pd.DataFrame:
    return load(sources).history


def load_divergence(sources: Sources) -> pd.DataFrame:
    return load(sources).divergence


def load_faults(sources: Sources) -> pd.DataFrame:
    return load(sources).faults


def load_timeseries(sources: Sources) -> pd.DataFrame:
    return load(sources).timeseries


def load_violations(sources: Sources) -> pd.DataFrame:
    return load(sources).violations


def load_lost_updates(sources: Sources) -> pd.DataFrame:
    return load(sources).lost_updates


__all__ = [
    "CELLS_COLUMNS",
    "CELL_COUNT_COLUMNS",
    "DIVERGENCE_COLUMNS",
    "FAULT_COLUMNS",
    "HISTORY_COLUMNS",
    "INTERVAL_COLUMNS",
    "LOST_UPDATE_COLUMNS",
    "PARAMETERS",
    "SHARE_PREFIX",
    "SUPPORTED_FORMATS",
    "TIMESERIES_COLUMNS",
    "UNHEALED_COLUMNS",
    "VIOLATION_COLUMNS",
    "Results",
    "ResultsError",
    "ResultsWarning",
    "Run",
    "cell_start",
    "check_counts",
    "fault_intervals",
    "final_checks",
    "find_runs",
    "latest_run",
    "load",
    "load_cells",
    "load_divergence",
    "load_faults",
    "load_history",
    "load_latest",
    "load_lost_updates",
    "load_timeseries",
    "load_violations",
    "lost_updates_frame",
    "open_run",
    "unhealed_rows",
    "violations_frame",
]
