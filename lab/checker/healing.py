"""Before/after: what a fix healed, what is still diverged, what newly diverged (the experiment's report)."""

from __future__ import annotations

import pandas as pd

from lab.checker.result import CheckResult

STATUSES = ("healed", "still_diverged", "newly_diverged")


def compare_checks(before: CheckResult, after: CheckResult) -> pd.DataFrame:
    """One row per key diverged in either check: key columns, `status`, `kind_before`, `kind_after`."""
    if before.key_columns != after.key_columns:
        raise ValueError("the two checks are not of the same table (key columns differ)")
    kinds_before = dict(zip(before.divergences.keys, before.divergences.kinds, strict=True))
    kinds_after = dict(zip(after.divergences.keys, after.divergences.kinds, strict=True))
    records = []
    for key in [*kinds_before, *(k for k in kinds_after if k not in kinds_before)]:
        was, now = kinds_before.get(key), kinds_after.get(key)
        status = "healed" if now is None else ("newly_diverged" if was is None else "still_diverged")
        records.append({**dict(zip(before.key_columns, key, strict=True)), "status": status,
                        "kind_before": was, "kind_after": now})
    return pd.DataFrame.from_records(records, columns=[*before.key_columns, "status", "kind_before", "kind_after"])


def summary(frame: pd.DataFrame) -> dict[str, int]:
    counts = frame["status"].value_counts() if len(frame) else {}
    return {status: int(counts.get(status, 0)) for status in STATUSES}
