"""Run an experiment and show, write by write, where the field-level lost-update rule and the rule it replaced
disagree, taken from the history and the rows each cell read back at the end of its story.

The incident and timeline cells used to count a write as lost when no DC held its (value, version) at the
end and no read had ever returned that triple ("safe once read"). Every cell now uses the field-level rule
of lab.verdicts.lost_updates: a write is lost when no DC holds its `changes` and no later write replaced
them knowingly (with them in its `basis`). The previous rule is written out below only to measure the
difference; the lab itself has one rule.

    .venv/bin/python tests/outcomes/lost_update_rules.py experiments/partition-during-shift.yaml [--only ...]

For every cell: the count under each rule, and each write that only one rule counts, with the reason:
- `read, then overwritten unseen`: a read returned the write, but the write that replaced it had not read it
  (the read's own write failed, was rejected, or was never made), so only the new rule counts it;
- `same value, other version`: a DC holds the write's value under another version, so only the previous
  rule counts it;
- `replaced knowingly, never read as is`: a later write had it in its basis, but no read returned the
  exact (value, version), so only the previous rule counts it.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from lab import experiments  # noqa: E402
from lab.runner import cell as cell_module  # noqa: E402
from lab.runner import matrix, outcome  # noqa: E402
from lab.verdicts.lost_updates import holds, lost_writes  # noqa: E402

VALUE, VERSION = "first_name", "version"


def previous_rule(operations: list[dict[str, Any]], rows: dict[str, dict[tuple[str, str], dict]]) -> list[dict]:
    """Safe once read: lost when no DC holds its (value, version) and no read returned that triple."""
    observed = {(op["key"], op.get("value"), int(op["version"])) for op in operations
                if op.get("kind") == "read" and op.get("version") is not None and not op.get("error")}
    lost = []
    for write in operations:
        if write.get("kind") not in ("update", "insert") or write.get("error") or not (write.get("rows_affected") or 0):
            continue
        effect = (write.get("value"), int(write["new_version"]))
        held = any((row := dc_rows.get((write["table"], str(write["key"])))) is not None
                   and (row[VALUE], int(row[VERSION])) == effect for dc_rows in rows.values())
        if not held and (write["key"], *effect) not in observed:
            lost.append(write)
    return lost


def reason(write: dict, rows: dict, new_rule: bool) -> str:
    if new_rule:
        return "read, then overwritten unseen"
    if any(holds(dc_rows.get((write["table"], str(write["key"]))), write.get("changes") or {})
           for dc_rows in rows.values()):
        return "same value, other version"
    return "replaced knowingly, never read as is"


def compare_cell(cell: Any) -> dict[str, Any]:
    story = cell.story
    operations, rows = story.operations, story.by_key()
    new = {w["seq"] for w in (item.write for item in lost_writes(operations, rows))}
    old = {w["seq"] for w in previous_rule(operations, rows)}
    by_seq = {op["seq"]: op for op in operations}
    reasons = Counter(reason(by_seq[seq], rows, seq in new) for seq in new ^ old)
    return {"lost_updates": len(new), "lost_updates_previous_rule": len(old), "only_new_rule": len(new - old),
            "only_previous_rule": len(old - new), **{f"because: {k}": v for k, v in sorted(reasons.items())}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", type=Path)
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--results", default="results")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    summarize = outcome.summarize

    def measured(cell: Any, seconds: float) -> Any:  # the normal verdicts, plus both rules side by side
        result = summarize(cell, seconds)
        rows.append({"cell": cell.history.cell, **compare_cell(cell)})
        return result

    cell_module.summarize = measured  # the runner's cells call lab.runner.cell.summarize
    result = matrix.run_experiment(args.experiment, only=experiments.parse_only(args.only),
                                   results_root=args.results, progress=print)
    print(f"results: {result.directory.path}")
    for row in rows:
        print(" | ".join(f"{k}={v}" for k, v in row.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
