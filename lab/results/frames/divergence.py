"""Every cell's divergence.csv as one frame: each diverged row at each check, every DC's values side by side."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lab.results import compat, dtypes, schema
from lab.results.runs import ResultsError, Run
from lab.results.schema import FixVerdict, RowVerdict


def _dcs(table: pd.DataFrame) -> list[str]:
    return [c[: -len(schema.PRESENT_SUFFIX)] for c in table.columns if c.endswith(schema.PRESENT_SUFFIX)]


def read_divergence(run: Run, cell: str) -> pd.DataFrame | None:
    path = run.path / schema.CELLS_DIR / cell / schema.DIVERGENCE_FILE
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
    if keys != ["key"]:  # format 1 wrote an incident's key under its own column name
        table.insert(0, "key", table[keys[0]] if len(keys) == 1 else table[keys].agg("|".join, axis=1))
    redundant = [c for c in keys if c != "key"] + [f"{dc}.{k}" for dc in _dcs(table) for k in keys]
    table = table.drop(columns=[c for c in redundant if c in table.columns])
    if run.results_format == 1:
        table = compat.upgrade_divergence(table)
    table.insert(0, "cell", cell)
    table.insert(0, "run", run.name)
    return table


def _flag(values: pd.Series) -> pd.Series:
    return values.map(lambda v: pd.NA if v in (None, "") or pd.isna(v) else str(v) == "True").astype("boolean")


def _verdicts(base: pd.DataFrame) -> None:
    """Flags and the human sentence, from the verdict codes."""
    verdict = base["verdict"].fillna(RowVerdict.DIVERGED.value).replace("", RowVerdict.DIVERGED.value).astype(str)
    untouched = _flag(base["untouched"])
    fix = base["fix"].fillna("").astype(str)
    base["stuck"] = (verdict == RowVerdict.STUCK.value).astype("boolean")
    base["never_written_again"] = untouched
    healed = pd.Series(pd.NA, index=base.index, dtype="boolean")
    healed[fix == FixVerdict.HEALED.value] = True
    healed[fix == FixVerdict.STILL_DIVERGED.value] = False
    base["healed_by_fix"] = healed
    base["verdict_text"] = dtypes.text(pd.Series(
        [schema.verdict_text(v, bool(u) if not pd.isna(u) else False, f or None)
         for v, u, f in zip(verdict, untouched, fix, strict=True)], index=base.index, dtype=object))
    base["verdict"] = dtypes.categorical(verdict, [v.value for v in RowVerdict])


def divergence_frame(runs: Sequence[Run], cells: pd.DataFrame) -> pd.DataFrame:
    """One row per diverged row per check, with each DC's values side by side and the cell's parameters.

    Per DC: `<dc>.present` (boolean) and `<dc>.<column>` for each table column (Int64 when every value
    is a whole number, text otherwise; missing where the row is absent on that DC). The verdict is a
    code (`verdict`: stuck, diverged, converged) with flags `stuck`, `never_written_again` and
    `healed_by_fix` (NA when no fix applied to it), and `verdict_text`, the sentence for a reader.
    """
    tables = []
    for run in runs:
        listed = cells.loc[cells["run"].astype(object) == run.name, "cell"].dropna().astype(str).tolist()
        on_disk = sorted(p.name for p in (run.path / schema.CELLS_DIR).glob("*") if p.is_dir())
        for cell in dict.fromkeys(listed + on_disk):
            table = read_divergence(run, cell)
            if table is not None:
                tables.append(table)
    frame = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    check_orders = [list(dict.fromkeys(t["check"])) for t in tables]
    columns = [c for c in schema.DIVERGENCE_COLUMNS if c not in schema.PARAMETERS] + ["untouched", "fix"]
    base = dtypes.frame(frame.to_dict("records"), columns)
    parameters = cells[["run", "cell", *schema.PARAMETERS]].copy() if len(cells.columns) else None
    if parameters is not None and not base.empty:
        parameters["run"], parameters["cell"] = parameters["run"].astype(object), parameters["cell"].astype(object)
        base = base.merge(parameters, on=["run", "cell"], how="left")
    for column in schema.PARAMETERS:
        if column not in base.columns:
            base[column] = pd.Series(dtype=object)
        base[column] = dtypes.categorical(base[column], list(cells[column].cat.categories) if column in cells else ())
    _verdicts(base)
    base = base.drop(columns=["untouched", "fix"])
    base["lost_update_on_key"] = _flag(base["lost_update_on_key"])
    converted = dtypes.integers(base["key"])
    base["key"] = converted if converted is not None else dtypes.text(base["key"])
    base["run"] = dtypes.categorical(base["run"], [run.name for run in runs])
    base["cell"] = dtypes.categorical(base["cell"], dtypes.cell_order(cells))
    base["check"] = dtypes.categorical(base["check"], dtypes.ordered_union(check_orders), ordered=True)
    for column in ("table", "kind", "dcs"):
        base[column] = dtypes.categorical(base[column].replace("", None))
    base = _per_dc_types(base)
    ordered = list(schema.DIVERGENCE_COLUMNS)
    return base[ordered + sorted(c for c in base.columns if c not in ordered)].reset_index(drop=True)


def _per_dc_types(frame: pd.DataFrame) -> pd.DataFrame:
    for dc in _dcs(frame):
        present = f"{dc}{schema.PRESENT_SUFFIX}"
        frame[present] = _flag(frame[present])
        absent = ~frame[present].fillna(False).astype(bool)
        for column in [c for c in frame.columns if c.startswith(f"{dc}.") and c != present]:
            values = frame[column].where(~absent, None)
            converted = dtypes.integers(values)
            frame[column] = converted if converted is not None else dtypes.text(values)
    return frame
