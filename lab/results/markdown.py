"""report.md: counts per cell, the workloads' broken invariants and lost writes, then every diverged row.

Written by `lab run` as cells finish and again by `lab report`, from the loaded frames (lab.results),
so it shows what the loader shows.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lab.results import schema
from lab.results.api import Results
from lab.results.runs import open_run
from lab.results.summary import report_table

# Where a reader of a report finds what each column means: a section of the findings page of the docs
# (tests/unit/test_docs.py checks that each heading exists there).
FINDINGS_PAGE = "docs/findings.md"
FINDINGS_SECTIONS = {"incident": "Reading the incident report", "timeline": "Fault injection and timeline experiments",
                     "workload": "Workloads: ticket numbers, PUT/PATCH versions, order state machines"}


def explained_in(kind: str) -> str:
    """`docs/findings.md, section "…"`: where the columns of a run of this kind are explained."""
    return f"{FINDINGS_PAGE}, section \"{FINDINGS_SECTIONS.get(kind, FINDINGS_SECTIONS['incident'])}\""
SHOWN_ROWS = 8


def markdown_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(none)\n"
    columns = list(frame.columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in frame.astype(object).itertuples(index=False):
        lines.append("| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _plot_links(run_dir: Path) -> str:
    """Links to what `lab report` drew (report.html, plots/*.png), once it has run."""
    pictures = sorted((run_dir / schema.PLOTS_DIR).glob("*.png"))
    links = [f"- [{schema.REPORT_HTML}]({schema.REPORT_HTML}): the summary and every plot in one file\n"] \
        if (run_dir / schema.REPORT_HTML).exists() else []
    links += [f"- [{picture.stem}]({schema.PLOTS_DIR}/{picture.name})\n" for picture in pictures]
    return "\n## Plots\n\n" + "".join(links) if links else ""


def _workload_sections(results: Results) -> str:
    """Per cell: its broken invariants (counts and the first rows) and its lost writes by operation."""
    violations, lost = results.violations, results.lost_updates
    out = []
    for cell in results.cells["cell"].astype(str):
        mine = violations[violations["cell"].astype(str) == cell].drop(columns=["run", "cell", "workload"])
        lost_here = lost[lost["cell"].astype(str) == cell]
        if mine.empty and lost_here.empty:
            continue
        out.append(f"### {cell}\n\n")
        if not mine.empty:
            counts = mine.groupby("invariant", observed=True).size().to_dict()
            out.append("Invariant violations: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + "\n\n")
            out.append(markdown_table(mine.head(SHOWN_ROWS)))
            if len(mine) > SHOWN_ROWS:
                out.append(f"\n({len(mine) - SHOWN_ROWS} more in {schema.CELLS_DIR}/{cell}/{schema.VIOLATIONS_FILE})\n")
        if not lost_here.empty:
            victims = lost_here["op"].astype(object).value_counts().to_dict()
            culprits = lost_here["overwritten_by_op"].astype(object).fillna("(none found)").value_counts().to_dict()
            out.append(f"\nLost updates: {len(lost_here)}; lost writes by operation "
                       + ", ".join(f"{k} {v}" for k, v in victims.items())
                       + "; overwritten unseen by " + ", ".join(f"{k} {v}" for k, v in culprits.items()) + "\n")
        out.append("\n")
    return "\n## Invariants and lost updates, per cell\n\n" + "".join(out) if out else ""


def _divergence_sections(results: Results) -> str:
    run, divergence = results.runs[-1], results.divergence
    out = []
    for cell in results.cells["cell"].astype(str):
        rows = divergence[divergence["cell"].astype(str) == cell]
        if rows.empty:
            continue
        per_dc = sorted((c for c in rows.columns if "." in c and rows[c].notna().any()),
                        key=lambda c: (c.split(".")[0], not c.endswith(schema.PRESENT_SUFFIX)))
        shown = rows[["key", "check", "table", "kind", "dcs", "verdict_text", "lost_update_on_key", *per_dc]]
        out.append(f"### {cell}\n\n")
        out.append(markdown_table(shown.rename(columns={"verdict_text": "verdict"})))
        errors = run.cell_status(cell).get("replication_errors") or []
        out.append("\nReplication errors seen: " + ("; ".join(errors) if errors
                                                     else "none (monitoring stayed green)") + "\n\n")
    return "".join(out)


def write_report(run_dir: Path) -> Path:
    run = open_run(run_dir)
    results = Results([run])
    meta = run.meta
    out = [f"# {meta['experiment']}: results\n",
           f"- seed: {meta['seed']}, lab {meta['lab_version']}, cells: {meta['cells_done']} of "
           f"{meta['cells_planned']} ({meta['cells_failed']} failed), completed: {meta['completed']}\n",
           f"- servers: {run.servers}\n",
           "- every count below is measured from the servers and `history.jsonl`; see "
           f"{explained_in(run.kind)} for what each column means.\n",
           _plot_links(run.path),
           "\n## Summary per cell\n\n"]
    cells = results.cells
    if not cells.empty:
        out.append(markdown_table(report_table(cells, meta.get("parameters")).drop(columns=["error"],
                                                                                   errors="ignore")))
        out.append(_workload_sections(results))
    out.append("\n## Diverged rows, per cell\n\n")
    out.append(_divergence_sections(results))
    path = run.path / schema.REPORT_MD
    path.write_text("".join(out))
    return path
