"""How the loader types columns: exact nullable integers, categoricals in a given order, text, UTC times.

Shared by every frame of lab.results, so a count is Int64 and a time is UTC wherever it appears.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from lab.results.runs import ResultsError
from lab.results.schema import TIME_DTYPE


def missing(value: Any) -> bool:
    """None, "", NaN, NaT or NA; a list or dict (e.g. `diverged_keys`) is a value."""
    if value is None or (isinstance(value, str) and value == ""):
        return True
    return not isinstance(value, (list, tuple, dict, set)) and bool(pd.isna(value))


def integers(values: Iterable[Any]) -> pd.api.extensions.ExtensionArray | None:
    """Exact nullable integers (no trip through float), or None when some value is not an integer."""
    cleaned = [None if missing(v) else v for v in values]
    try:
        return pd.array(cleaned, dtype="Int64")
    except (TypeError, ValueError):
        return None


def as_integer(frame: pd.DataFrame, column: str, source: str) -> None:
    converted = integers(frame[column])
    if converted is None:
        raise ResultsError(f"{source}: column {column} holds values that are not whole numbers")
    frame[column] = converted


def ordered_union(orders: Iterable[Sequence[str]]) -> list[str]:
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


def categorical(series: pd.Series, order: Sequence[str] = (), ordered: bool = False) -> pd.Series:
    raw = series.astype(object)
    strings = [None if pd.isna(v) else str(v) for v in raw]
    present = set(v for v in strings if v is not None)
    known = [v for v in dict.fromkeys(order) if v in present]
    categories = known + sorted(present - set(known))
    return pd.Series(pd.Categorical(strings, categories=categories, ordered=ordered), index=series.index,
                     name=series.name)


def text(series: pd.Series) -> pd.Series:
    """Text as the nullable "string" dtype (the same in pandas 2 and 3; a missing value stays missing)."""
    values = [None if pd.isna(v) else str(v) for v in series.astype(object)]
    return pd.Series(pd.array(values, dtype="string"), index=series.index, name=series.name)


def times(series: pd.Series) -> pd.Series:
    """Epoch seconds (how the lab records time) or ISO-8601 strings, as UTC datetimes."""
    numeric = pd.to_numeric(series, errors="coerce")
    if numeric.notna().sum() == series.notna().sum():
        return pd.to_datetime(numeric, unit="s", utc=True).astype(TIME_DTYPE)
    return pd.to_datetime(series, utc=True, errors="coerce", format="ISO8601").astype(TIME_DTYPE)


def frame(records: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    for column in columns:
        if column not in frame.columns:
            frame[column] = pd.Series([None] * len(frame), dtype=object)
    extras = [c for c in frame.columns if c not in columns]
    for column in extras:  # a field no record filled (e.g. an optional None) stays None, not NaN floats
        if frame[column].isna().all():
            frame[column] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    return frame[list(columns) + extras]



def cell_order(cells: pd.DataFrame) -> list[str]:
    """The cells in the order cells.csv lists them: the category order of every frame's `cell` column."""
    return list(cells["cell"].dropna().astype(str)) if "cell" in cells else []
