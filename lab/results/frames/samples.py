"""The sampled time series (timeseries.csv): divergence, lag and link state, one row per sample and link."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lab.results import dtypes, schema
from lab.results.runs import Run


def read_timeseries(run: Run) -> pd.DataFrame | None:
    """The run-level timeseries.csv, or else the per-cell ones (the run-level file holds them all)."""
    run_level = run.path / schema.TIMESERIES_FILE
    per_cell = sorted((run.path / schema.CELLS_DIR).glob(f"*/{schema.TIMESERIES_FILE}"))
    paths = [run_level] if run_level.exists() else per_cell
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
    that DC's planned share of traffic). On a group or Galera cluster a row is one member instead of one
    link: `member`, `member_state` (ONLINE, RECOVERING, UNREACHABLE, ERROR; Synced, Donor/Desynced, ...;
    or "unreachable"), `member_role`, `members_online`, `cluster_status` (Primary, non-Primary),
    `cluster_size`; on semi-synchronous links `semi_sync` (ON/OFF) and `semi_sync_yes_tx`/`_no_tx`.
    Empty, with these columns, for runs that sampled nothing.
    """
    tables = [t for t in (read_timeseries(run) for run in runs) if t is not None]
    frame = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    frame = dtypes.frame(frame.to_dict("records"), schema.TIMESERIES_COLUMNS).replace("", None)
    frame["time"] = dtypes.times(frame["time"])
    for column in ["t", "lag_s", *[c for c in frame.columns if c.startswith(schema.SHARE_PREFIX)]]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in ("diverged_rows", "last_sql_errno", "last_io_errno", "members_online", "cluster_size",
                   "semi_sync_yes_tx", "semi_sync_no_tx"):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        whole = numbers.dropna()
        frame[column] = numbers.astype("Int64") if (whole == whole.round()).all() else numbers
    frame["run"] = dtypes.categorical(frame["run"], [run.name for run in runs])
    frame["cell"] = dtypes.categorical(frame["cell"], dtypes.cell_order(cells))
    for column in ("phase", "link", "io", "sql", "member", "member_state", "member_role", "cluster_status",
                   "semi_sync"):
        frame[column] = dtypes.categorical(frame[column], list(dict.fromkeys(frame[column].dropna().astype(str))))
    frame["active_faults"] = dtypes.text(frame["active_faults"]).fillna("")
    shares = sorted(c for c in frame.columns if c.startswith(schema.SHARE_PREFIX))
    ordered = list(schema.TIMESERIES_COLUMNS) + shares
    return frame[ordered + [c for c in frame.columns if c not in ordered]].reset_index(drop=True)
