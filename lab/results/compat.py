"""Results format 1 (written before the single cell engine), read as format 2. The only module that knows it.

Format 1 differed in two ways that the frames see:
- a divergence row's verdict was one sentence ("stuck under current guard/format; never written
  again by the app; still diverged after fix") instead of the codes `verdict`, `untouched`, `fix`;
- the incident's held appliers were two history events (`hold_appliers`, `release_appliers`)
  instead of the `hold_appliers` fault's start and heal records.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lab.results.schema import UNTOUCHED_TEXT, FixVerdict, RowVerdict

HOLD_EVENTS = {"hold_appliers": "start", "release_appliers": "heal"}


def verdict_codes(sentence: str) -> tuple[str, bool, str]:
    """A format-1 verdict sentence as (verdict, untouched, fix) codes."""
    parts = [part.strip() for part in str(sentence or "").split(";")]
    verdict = next((v.value for v in RowVerdict if v.text == parts[0]), RowVerdict.DIVERGED.value)
    fix = next((f.value for f in FixVerdict for part in parts if part == f.text), "")
    return verdict, UNTOUCHED_TEXT in parts, fix


def upgrade_divergence(table: pd.DataFrame) -> pd.DataFrame:
    """Add the codes a format-2 divergence.csv carries, derived from the format-1 sentence."""
    codes = [verdict_codes(sentence) for sentence in table["verdict"]] if "verdict" in table else []
    table = table.copy()
    table["verdict"] = [c[0] for c in codes]
    table["untouched"] = [str(c[1]) for c in codes]
    table["fix"] = [c[2] for c in codes]
    return table


def upgrade_record(record: dict[str, Any]) -> dict[str, Any]:
    """A format-1 hold/release event as the `hold_appliers` fault record format 2 writes."""
    action = HOLD_EVENTS.get(str(record.get("event"))) if record.get("type") == "event" else None
    if action is None:
        return record
    return {**record, "type": "fault", "event": action, "fault": "hold_appliers",
            "params": {"servers": record.get("servers")}}
