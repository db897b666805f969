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
                elif action == "heal" and open_since:
                    rows.append({"run": run, "cell": cell, "fault": fault, "target": target,
                                 "start": open_since.pop(0), "end": record.time, "healed": True})
            rows += [{"run": run, "cell": cell, "fault": fault, "target": target, "start": start,
                      "end": pd.NaT, "healed": False} for start in open_since]
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
