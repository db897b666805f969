"""report.md and the terminal summary: counts per cell, then the per-row evidence for diverged cells."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from lab.experiment.results import SUMMARY_COLUMNS
from lab.experiment.spec import MATRIX_KEYS

PARAMETERS = list(MATRIX_KEYS)
TERMINAL_COLUMNS = [
    *PARAMETERS,
    "diverged_after_overlap", "stuck_rows", "untouched_diverged", "diverged_after_fix",
    "lost_updates", "replication_errors", "stopped_appliers", "invariant_violations",
]
SHORT_NAMES = {
    "binlog_format": "format", "version_order": "versions", "diverged_after_overlap": "diverged",
    "stuck_rows": "stuck", "untouched_diverged": "untouched", "diverged_after_fix": "after_fix",
    "lost_updates": "lost_upd", "replication_errors": "repl_err", "stopped_appliers": "stopped",
    "invariant_violations": "violations", "exec_mode": "exec",
}
INVARIANT_PREFIX = "inv_"
README_SECTIONS = {"incident": "Reading the incident report", "timeline": "Fault injection and timeline experiments",
                   "workload": "Workloads: ticket numbers, PUT/PATCH versions, order state machines"}
# cells.csv columns the summary table never shows as a workload's own count
KNOWN_COLUMNS = set(SUMMARY_COLUMNS) | {"workload", "exec_mode"}


def parameter_columns(frame: pd.DataFrame, parameters: list[str] | None = None) -> list[str]:
    """The lab's parameters, then any a workload adds (its knobs, exec_mode), as columns of `frame`."""
    extra = [c for c in (parameters or []) if c not in PARAMETERS]
    return [c for c in PARAMETERS + extra if c in frame.columns]


def terminal_rows(summaries: list[dict[str, Any]], parameters: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows for the terminal table; columns that are constant across the run, or never filled, are dropped."""
    frame = pd.DataFrame(summaries)
    parameter_names = parameter_columns(frame, parameters)
    measured = [c for c in TERMINAL_COLUMNS if c not in PARAMETERS and c in frame.columns]
    measured += [c for c in frame.columns if c.startswith(INVARIANT_PREFIX)]
    columns = parameter_names + [c for c in measured if frame[c].notna().any()]
    varying = [c for c in columns if c not in parameter_names or frame[c].nunique() > 1]
    if "status" in frame.columns and (frame["status"] != "completed").any():
        varying.append("status")
    rows = []
    for summary in summaries:
        rows.append({SHORT_NAMES.get(c, c): summary.get(c) for c in varying})
    return rows


def constant_parameters(summaries: list[dict[str, Any]], parameters: list[str] | None = None) -> dict[str, Any]:
    frame = pd.DataFrame(summaries)
    return {k: frame[k].iloc[0] for k in parameter_columns(frame, parameters) if frame[k].nunique() == 1}


def _markdown_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(none)\n"
    columns = list(frame.columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _plot_links(run_dir: Path) -> str:
    """Links to what `lab report` drew (report.html, plots/*.png), once it has run."""
    pictures = sorted((run_dir / "plots").glob("*.png"))
    links = ["- [report.html](report.html): the summary and every plot in one file\n"] \
        if (run_dir / "report.html").exists() else []
    links += [f"- [{picture.stem}](plots/{picture.name})\n" for picture in pictures]
    return "\n## Plots\n\n" + "".join(links) if links else ""


def _cell_csv(run_dir: Path, cell: str, name: str) -> pd.DataFrame:
    path = run_dir / "cells" / cell / name
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False) if path.exists() else pd.DataFrame()
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _workload_sections(run_dir: Path, cells: pd.DataFrame, shown: int = 8) -> str:
    """Per workload cell: its broken invariants (counts and the first rows) and its lost writes by operation."""
    out = []
    for _, cell in cells.iterrows():
        name = str(cell["cell"])
        violations = _cell_csv(run_dir, name, "violations.csv")
        lost = _cell_csv(run_dir, name, "lost_updates.csv")
        if violations.empty and lost.empty:
            continue
        out.append(f"### {name}\n\n")
        if not violations.empty:
            counts = violations.groupby("invariant").size().to_dict()
            out.append("Invariant violations: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + "\n\n")
            out.append(_markdown_table(violations.head(shown)))
            if len(violations) > shown:
                out.append(f"\n({len(violations) - shown} more in cells/{name}/violations.csv)\n")
        if not lost.empty:
            victims = lost.groupby("op").size().to_dict()
            culprits = lost.replace("", "(none found)").groupby("overwritten_by_op").size().to_dict()
            out.append(f"\nLost updates: {len(lost)}; lost writes by operation "
                       + ", ".join(f"{k} {v}" for k, v in victims.items())
                       + "; overwritten unseen by " + ", ".join(f"{k} {v}" for k, v in culprits.items()) + "\n")
        out.append("\n")
    return "\n## Workload invariants and lost updates, per cell\n\n" + "".join(out) if out else ""


def write_report(run_dir: Path) -> Path:
    meta = json.loads((run_dir / "run.json").read_text())
    cells = pd.read_csv(run_dir / "cells.csv") if (run_dir / "cells.csv").exists() else pd.DataFrame()
    out = [f"# {meta['experiment']}: results\n",
           f"- seed: {meta['seed']}, lab {meta['lab_version']}, cells: {meta['cells_done']} of "
           f"{meta['cells_planned']} ({meta['cells_failed']} failed), completed: {meta['completed']}\n",
           "- every count below is measured from the servers and `history.jsonl`; see README "
           f"\"{README_SECTIONS.get(meta.get('kind', 'incident'), README_SECTIONS['incident'])}\" "
           "for what each column means.\n",
           _plot_links(run_dir),
           "\n## Summary per cell\n\n"]
    if not cells.empty:
        measured = ["conflicting_rows", "diverged_after_overlap", "diverged_after_leader_write", "stuck_rows",
                    "untouched_diverged", "diverged_after_fix", "lost_updates", "replication_errors",
                    "stopped_appliers", "invariant_violations"]
        shown = [c for c in parameter_columns(cells, meta.get("parameters")) if cells[c].notna().any()] + [
            c for c in measured if c in cells.columns and cells[c].notna().any()]
        workload_counts = [c for c in cells.columns if c not in set(shown) | KNOWN_COLUMNS]
        out.append(_markdown_table(cells[[*shown, *workload_counts, "status"]]))
        out.append(_workload_sections(run_dir, cells))
    out.append("\n## Diverged rows, per cell\n\n")
    for _, cell in cells.iterrows():
        divergence_file = run_dir / "cells" / str(cell["cell"]) / "divergence.csv"
        if not divergence_file.exists() or divergence_file.stat().st_size == 0:
            continue
        try:
            rows = pd.read_csv(divergence_file)
        except pd.errors.EmptyDataError:
            continue
        if rows.empty:
            continue
        out.append(f"### {cell['cell']}\n\n")
        out.append(_markdown_table(rows))
        status = json.loads((run_dir / "cells" / str(cell["cell"]) / "status.json").read_text())
        if status.get("replication_errors"):
            out.append("\nReplication errors seen: " + "; ".join(status["replication_errors"]) + "\n")
        else:
            out.append("\nReplication errors seen: none (monitoring stayed green)\n")
        out.append("\n")
    path = run_dir / "report.md"
    path.write_text("".join(out))
    return path
