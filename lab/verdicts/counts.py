"""Counts over a cell's history records: what the application did and what the servers answered."""

from __future__ import annotations

from collections import Counter
from typing import Any

from lab.results.schema import CERTIFICATION_PREFIX, LATENCY_PREFIX
from lab.verdicts.lost_updates import succeeded

GUARDED_KINDS = ("update", "delete")
WRITE_KINDS = ("update", "insert", "delete")


def operation_errors(operations: list[dict[str, Any]]) -> dict[str, Any]:
    """Statements the server refused (deadlock, lost connection, duplicate key...), by error code."""
    errors = Counter(str(op["error"]).split(":")[0] for op in operations if op.get("error"))
    return {"operation_errors": sum(errors.values()), "operation_errors_by_code": dict(errors)}


def rejected_writes(operations: list[dict[str, Any]]) -> int:
    """Guarded UPDATEs and DELETEs that ran without error and matched no row: the application's
    'someone else changed it; reload' signal."""
    return sum(1 for op in operations
               if op.get("kind") in GUARDED_KINDS and not op.get("error") and op.get("rows_affected") == 0)


def certification_rollbacks(operations: list[dict[str, Any]], dcs: list[str]) -> dict[str, int]:
    """Writes the replication design rolled back at certification (the client marks them), in total and per DC."""
    rolled = Counter(op.get("dc") for op in operations
                     if op.get("rejected_by") == "certification" and op.get("kind") in WRITE_KINDS)
    return {"certification_rollbacks": sum(rolled.values()),
            **{f"{CERTIFICATION_PREFIX}{dc}": rolled.get(dc, 0) for dc in dcs}}


def version_regressions(operations: list[dict[str, Any]]) -> int:
    """Successful writes that set a version older than the one they read (a clock behind, under gte or none)."""
    return sum(1 for op in operations if op.get("kind") == "update" and succeeded(op)
               and op.get("read_version") is not None and op.get("new_version") is not None
               and int(op["new_version"]) < int(op["read_version"]))


def overlap(operations: list[dict[str, Any]], phase: str = "overlap") -> dict[str, int | None]:
    """The UPDATEs of the overlap phase, those that changed a row locally, and the rows that every writing DC
    changed (None when the cell has no such phase)."""
    updates = [op for op in operations if op.get("phase") == phase and op.get("kind") == "update"]
    if not updates:
        return dict.fromkeys(("overlap_updates", "overlap_updates_applied", "conflicting_rows"))
    applied_by_dc: dict[str, set[Any]] = {}
    for op in updates:
        if succeeded(op):
            applied_by_dc.setdefault(op["dc"], set()).add((op.get("table"), op["key"]))
    conflicting = set.intersection(*applied_by_dc.values()) if len(applied_by_dc) > 1 else set()
    return {"overlap_updates": len(updates), "overlap_updates_applied": sum(1 for op in updates if succeeded(op)),
            "conflicting_rows": len(conflicting)}


def written_keys(operations: list[dict[str, Any]], after_seq: int, before_seq: int) -> set[tuple[str, str]]:
    """Rows the application wrote (or tried to) between two history records."""
    return {(str(op.get("table")), str(op.get("key"))) for op in operations
            if op.get("kind") in WRITE_KINDS and after_seq < op["seq"] < before_seq}


TRAFFIC_PHASES = ("overlap", "traffic")   # where clients run concurrently (lab.runner.plans)


def write_latency(operations: list[dict[str, Any]], dcs: list[str]) -> dict[str, float | None]:
    """Statement latency of the application's UPDATEs under concurrent traffic (certification, semi-sync waits
    and lock waits included), p50 and p99 per DC in ms, and the updates that changed a row per second over the
    traffic phase. None where a cell ran no concurrent traffic. Measured on the client, so the machine's load
    counts: compare designs within one run."""
    updates = [op for op in operations if op.get("phase") in TRAFFIC_PHASES and op.get("kind") == "update"
               and op.get("start") is not None and op.get("end") is not None and not op.get("transaction")]
    found: dict[str, float | None] = {}
    for dc in dcs:
        took = sorted((float(op["end"]) - float(op["start"])) * 1000 for op in updates if op.get("dc") == dc)
        for point in (50, 99):
            found[f"{LATENCY_PREFIX}p{point}_{dc}"] = round(percentile(took, point), 2) if took else None
    span = (max(float(op["end"]) for op in updates) - min(float(op["start"]) for op in updates)) if updates else 0
    found["applied_updates_per_s"] = round(sum(1 for op in updates if succeeded(op)) / span, 1) if span else None
    return found


def percentile(ordered: list[float], point: int) -> float:
    """Nearest-rank percentile of an ordered list (no interpolation: a value that was measured)."""
    rank = max(1, -(-point * len(ordered) // 100))
    return ordered[rank - 1]
