"""Rerun the captured selections and compare their cells.csv with the baseline: the same outcomes before and after.

The baseline is repeated runs of the same code (commit 0594366, before the single cell engine), made one after
the other on the same machine: tests/outcomes/baseline/run1, run2, ... (two runs of each selection, four of
those with cells that race). A (cell, column) whose value differed between any two of those runs depends on
timing, and is left out; every other count must be identical now. The
report lists, per selection:
- `changed`: counts that differ from the baseline (each must be explained where it is reported);
- `newly measured`: columns that were empty before and hold a value now, and columns new to cells.csv.

    .venv/bin/python tests/outcomes/check_outcomes.py                  # rerun every selection, then compare
    .venv/bin/python tests/outcomes/check_outcomes.py --only incident  # one selection
    .venv/bin/python tests/outcomes/check_outcomes.py --results DIR    # compare runs already made under DIR/<name>

Exit 0 when nothing changed, 1 otherwise (the report says what), 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SELECTIONS = HERE / "selections.yaml"
ALWAYS_TIMED = {"seconds"}


@dataclass
class Comparison:
    name: str
    cells: int
    changed: list[tuple[str, str, str, str]] = field(default_factory=list)   # cell, column, before, after
    newly_measured: dict[str, int] = field(default_factory=dict)             # column -> cells
    new_columns: list[str] = field(default_factory=list)
    timed: int = 0                                                           # (cell, column) pairs left out
    missing_cells: list[str] = field(default_factory=list)


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False).set_index("cell")


def baseline(name: str) -> list[pd.DataFrame]:
    """Every baseline run of a selection, the first one first."""
    return [read(path) for path in sorted((HERE / "baseline").glob(f"run*/{name}.cells.csv"))]


def timing_dependent(runs: list[pd.DataFrame]) -> set[tuple[str, str]]:
    """(cell, column) pairs whose value differed between any two baseline runs of the same code."""
    first = runs[0]
    pairs = {(cell, column) for cell in first.index for column in ALWAYS_TIMED}
    for other in (run.reindex(first.index) for run in runs[1:]):
        pairs |= {(cell, column) for column in first.columns if column in other.columns
                  for cell in first.index[first[column] != other[column]]}
    return pairs


def compare(name: str, now: pd.DataFrame, subset: bool = False) -> Comparison:
    """Compare a rerun's cells with the baseline; `subset`: the rerun chose some of the baseline's cells."""
    runs = baseline(name)
    if subset:
        runs = [run[run.index.isin(now.index)] for run in runs]
    run1 = runs[0]
    timed = timing_dependent(runs)
    result = Comparison(name, len(run1), timed=len(timed))
    result.missing_cells = [cell for cell in run1.index if cell not in now.index]
    result.new_columns = [c for c in now.columns if c not in run1.columns]
    for column in run1.columns:
        for cell in run1.index:
            if cell not in now.index or (cell, column) in timed:
                continue
            before = run1.at[cell, column]
            after = now.at[cell, column] if column in now.columns else "(column gone)"
            if before == after:
                continue
            if before == "":
                result.newly_measured[column] = result.newly_measured.get(column, 0) + 1
            else:
                result.changed.append((cell, column, before, after))
    return result


def rerun(name: str, selection: dict, root: Path) -> Path:
    from lab import experiments
    from lab.runner import run_experiment

    result = run_experiment(ROOT / selection["experiment"], only=experiments.parse_only(selection["only"]),
                            results_root=root / name, progress=lambda message: print(f"  {message}", flush=True))
    return result.directory.path / "cells.csv"


def report(result: Comparison) -> None:
    print(f"{result.name}: {result.cells} cells, {result.timed} timing-dependent (cell, column) pairs left out")
    for cell in result.missing_cells:
        print(f"  missing cell: {cell}")
    for cell, column, before, after in result.changed:
        print(f"  changed: {cell} {column}: {before} -> {after}")
    for column, count in sorted(result.newly_measured.items()):
        print(f"  newly measured: {column} in {count} cell(s) (empty before)")
    if result.new_columns:
        print(f"  new columns: {', '.join(result.new_columns)}")
    if not (result.changed or result.missing_cells):
        print("  every count that does not depend on timing is identical")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="a selection name (repeatable); default: all")
    parser.add_argument("--results", type=Path, help="compare the runs under RESULTS/<name>/ instead of rerunning")
    parser.add_argument("--keep", type=Path, help="write the reruns under KEEP/<name>/ (default: a scratch directory)")
    args = parser.parse_args()
    selections = yaml.safe_load(SELECTIONS.read_text())
    unknown = sorted(set(args.only or []) - set(selections))
    if unknown:
        print(f"--only {unknown[0]}: no such selection (have: {', '.join(selections)})", file=sys.stderr)
        return 2
    failed = False
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.only or list(selections):
            if args.results:
                found = sorted((args.results / name).glob("*/cells.csv"))
                if not found:
                    print(f"--results: no run under {args.results / name}", file=sys.stderr)
                    return 2
                cells = found[-1]
            else:
                print(f"running {name}: {selections[name]['experiment']} --only {selections[name]['only']}")
                cells = rerun(name, selections[name], args.keep or Path(scratch))
            result = compare(name, read(cells))
            report(result)
            failed = failed or bool(result.changed or result.missing_cells)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
