"""report.md and the terminal summary: counts per cell, then the per-row evidence for diverged cells."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

TERMINAL_COLUMNS = [
    "topology", "binlog_format", "guard", "flavor", "mode", "version_order",
    "diverged_after_overlap", "stuck_rows", "untouched_diverged", "diverged_after_fix",
    "lost_updates", "replication_errors",
]
SHORT_NAMES = {
    "binlog_format": "format", "version_order": "versions", "diverged_after_overlap": "diverged",
    "stuck_rows": "stuck", "untouched_diverged": "untouched", "diverged_after_fix": "after_fix",
    "lost_updates": "lost_upd", "replication_errors": "repl_err",
}


def terminal_rows(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows for the terminal table; columns that are constant across the run are dropped to keep it narrow."""
    frame = pd.DataFrame(summaries)
    columns = [c for c in TERMINAL_COLUMNS if c in frame.columns]
    parameters = ["topology", "binlog_format", "guard", "flavor", "mode", "version_order"]
    varying = [c for c in columns if c not in parameters or frame[c].nunique() > 1]
    if "status" in frame.columns and (frame["status"] != "completed").any():
        varying.append("status")
    rows = []
    for summary in summaries:
        rows.append({SHORT_NAMES.get(c, c): summary.get(c) for c in varying})
    return rows


def constant_parameters(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    frame = pd.DataFrame(summaries)
    keys = ["topology", "binlog_format", "guard", "flavor", "mode", "version_order"]
    return {k: frame[k].iloc[0] for k in keys if k in frame.columns and frame[k].nunique() == 1}


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


def write_report(run_dir: Path) -> Path:
    meta = json.loads((run_dir / "run.json").read_text())
    cells = pd.read_csv(run_dir / "cells.csv") if (run_dir / "cells.csv").exists() else pd.DataFrame()
    out = [f"# {meta['experiment']}: results\n",
           f"- seed: {meta['seed']}, lab {meta['lab_version']}, cells: {meta['cells_done']} of "
           f"{meta['cells_planned']} ({meta['cells_failed']} failed), completed: {meta['completed']}\n",
           "- every count below is measured from the servers and `history.jsonl`; see README "
           "\"Reading the incident report\" for what each column means.\n",
           _plot_links(run_dir),
           "\n## Summary per cell\n\n"]
    if not cells.empty:
        shown = [c for c in ["topology", "binlog_format", "guard", "flavor", "mode", "version_order",
                             "conflicting_rows", "diverged_after_overlap", "diverged_after_leader_write",
                             "stuck_rows", "untouched_diverged", "diverged_after_fix", "lost_updates",
                             "replication_errors", "status"] if c in cells.columns]
        out.append(_markdown_table(cells[shown]))
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
