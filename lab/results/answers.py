"""Answers computed from the loaded frames: rows that never heal, fault intervals, divergence per check."""

from __future__ import annotations

import pandas as pd

from lab.results.schema import INTERVAL_COLUMNS, TIME_DTYPE, UNHEALED_COLUMNS


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



def fault_intervals(faults: pd.DataFrame) -> pd.DataFrame:
    """Each fault as one interval: when it started and when it healed (NaT and healed=False if never).

    Starts and heals are paired per (run, cell, fault, target) in order. The incident's held appliers
    are the `hold_appliers` fault like any other.
    """
    rows = []
    if not faults.empty:
        ordered = faults.sort_values("time")
        for (run, cell, fault, target), group in ordered.groupby(
                ["run", "cell", "fault", "target"], observed=True, dropna=False, sort=False):
            open_since: list[pd.Timestamp] = []
            for record in group.itertuples(index=False):
                action = str(record.action).lower()
                if action == "start":
                    open_since.append(record.time)
                elif action == "heal" and open_since:   # ends when the heal began undoing it (a rejoin after)
                    began = getattr(record, "began", None)
                    end = pd.Timestamp(float(began), unit="s", tz="UTC") if not _missing(began) else record.time
                    rows.append({"run": run, "cell": cell, "fault": fault, "target": target,
                                 "start": open_since.pop(0), "end": end, "healed": True})
            rows += [{"run": run, "cell": cell, "fault": fault, "target": target, "start": start,
                      "end": pd.NaT, "healed": False} for start in open_since]
    frame = pd.DataFrame(rows, columns=list(INTERVAL_COLUMNS))
    for column in ("start", "end"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype(TIME_DTYPE)
    return frame


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA


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


GROUPING = ("design", "flavor", "binlog_format")


def design_comparison(cells: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """One row per (replication design, flavor, binlog format): what the servers did with the format, the
    conflicting writes of the transaction overlaps (applied, rolled back by certification with their errnos,
    failed otherwise, matched no row under the guard), divergence, stuck rows and lost updates per guard, and the
    write latency and throughput of the concurrent cells. Computed from cells.csv and the history only
    (experiments/replication-designs.yaml)."""
    if cells.empty or "design" not in cells.columns:
        return pd.DataFrame()
    frame = cells.assign(**{key: cells[key].astype(object) for key in GROUPING})
    frame = frame[frame["design"].notna()]
    cell_design = {(str(r.run), str(r.cell)): tuple(getattr(r, key) for key in GROUPING)
                   for r in frame.itertuples(index=False)}
    first_tries = history[(history["type"].astype(str) == "op") & (history["kind"].astype(str) == "update")
                          & (history["phase"].astype(str) == "overlap")]
    if "attempt" in first_tries.columns:
        first_tries = first_tries[first_tries["attempt"].isna()]
    modes = {(str(r.run), str(r.cell)): str(r.mode) for r in frame.itertuples(index=False)}
    first_tries = first_tries[[modes.get((str(r), str(c)), "").startswith("txn_")
                               for r, c in zip(first_tries["run"], first_tries["cell"], strict=True)]]
    rows = []
    for key, group in frame.groupby(list(GROUPING), sort=False):
        mine = first_tries[[cell_design.get((str(r), str(c))) == key
                            for r, c in zip(first_tries["run"], first_tries["cell"], strict=True)]]
        rejected = mine[mine["rejected_by"].astype(object) == "certification"] if "rejected_by" in mine else mine[:0]
        errors = mine["error"].astype(object)
        errnos = sorted({str(e).split(":")[0] for e in rejected["error"].astype(object)})
        others = mine[errors.notna() & ~mine.index.isin(rejected.index)]   # e.g. 1290 on a read-only member
        other_errnos = sorted({str(e).split(":")[0] for e in others["error"].astype(object)})
        completed = group[group["status"].astype(str) == "completed"]
        outcomes = group["binlog_format_outcome"].astype(object).dropna().astype(str).str.split(" \\(").str[0]
        row = {**dict(zip(GROUPING, key, strict=True)),
               "format_outcome": ", ".join(dict.fromkeys(outcomes)) or "", "cells": len(group),
               "cells_run": len(completed), "conflict_writes": len(mine),
               "applied": int(((mine["rows_affected"].fillna(0) > 0) & errors.isna()).sum()),
               "rolled_back": len(rejected), "errnos": " ".join(errnos),
               "failed_otherwise": len(others), "other_errnos": " ".join(other_errnos),
               "guard_rejected": int(((mine["rows_affected"] == 0) & errors.isna()).sum())}
        for guard, by_guard in completed.groupby(completed["guard"].astype(object), sort=False):
            for column, short in (("diverged_after_overlap", "diverged"), ("stuck_rows", "stuck"),
                                  ("lost_updates", "lost")):
                row[f"{short}_{guard}"] = int(by_guard[column].fillna(0).sum())
        concurrent = completed[completed["mode"].astype(str) == "concurrent"]
        for column in [c for c in cells.columns if c.startswith("write_ms_")] + ["applied_updates_per_s"]:
            if column in concurrent:
                values = pd.to_numeric(concurrent[column], errors="coerce").dropna()
                row[column] = round(float(values.median()), 1) if len(values) else None
        rows.append(row)
    return pd.DataFrame(rows)


def writes_during_faults(history: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """What happened to the writes sent to a faulted server while its fault lasted (a member cut off, frozen,
    crashed): one row per fault interval with the writes started in it, how many succeeded, matched no row, or
    failed (by errno, `1047x12`; `lost` for a connection that gave no errno), and the longest one in ms, which
    shows writes that blocked until the heal. A fault with no server target (a link, a pair of DCs) has no row."""
    ops = history[(history["type"].astype(object) == "op")
                  & history["kind"].astype(object).isin(["update", "insert", "delete"])]
    rows = []
    for fault in intervals.itertuples(index=False):
        target = str(fault.target)
        end = fault.end if not pd.isna(fault.end) else ops["end"].max()
        mine = ops[(ops["run"].astype(object) == fault.run) & (ops["cell"].astype(object) == fault.cell)
                   & ((ops["server"].astype(object) == target) | (ops["dc"].astype(object) == target))
                   & (ops["start"] >= fault.start) & (ops["start"] < end)]
        if mine.empty and target not in set(ops["server"].astype(str)) | set(ops["dc"].astype(str)):
            continue
        errors = mine["error"].astype(object).dropna().astype(str)
        by_errno = errors.str.split(":").str[0].where(errors.str.split(":").str[0].str.isdigit(), "lost")
        failed = " ".join(f"{code}x{count}" for code, count in by_errno.value_counts().items())
        clean = mine[mine["error"].isna()]
        rows.append({"run": fault.run, "cell": fault.cell, "fault": fault.fault, "target": target,
                     "writes": len(mine), "succeeded": int((clean["rows_affected"].fillna(0) > 0).sum()),
                     "matched_no_row": int((clean["rows_affected"] == 0).sum()), "failed": failed,
                     "longest_ms": round(float(mine["duration_ms"].max()), 1) if len(mine) else None})
    return pd.DataFrame(rows, columns=["run", "cell", "fault", "target", "writes", "succeeded", "matched_no_row",
                                       "failed", "longest_ms"])
