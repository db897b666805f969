"""report.html: one self-contained file with the summary table, every plot of a run, and the rows that never heal.

The PNGs are written to RUN_DIR/plots/ as well and embedded in report.html as data URIs, so the HTML
can be mailed or attached to a ticket on its own. report.md is rewritten to link to both.
"""

from __future__ import annotations

import base64
import html
import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lab.results import Results, latest_run, plots, schema
from lab.results.markdown import explained_in, write_report
from lab.results.plots import workload as workload_plots
from lab.results.summary import report_table

# Everything `lab report` may have written into plots/ before; removed first so a rerun leaves no stale image.
OWNED_PNGS = ("heatmap-*.png", "tradeoff.png", "divergence-by-check.png", "timeline-*.png", "unhealed-rows.png",
              "workload-*.png")
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1400px;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
div.wide { overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: left; white-space: nowrap; }
th { background: #f0f0f0; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.bad { background: #fbd5d5; font-weight: bold; }
td.failed { background: #eeeeee; font-style: italic; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #444; max-width: 60em; }
.meta { color: #555; } code { background: #f5f5f5; padding: 0 3px; }
"""


@dataclass
class Plot:
    """One figure of the report: its file name, heading and a caption for a reader new to the incident."""

    name: str
    heading: str
    caption: str
    draw: Callable[[], object]


def _workload_plots(cells: pd.DataFrame) -> list[Plot]:
    found = []
    for name in workload_plots.workloads(cells):
        found.append(Plot(
            f"workload-{name}-scorecard.png", f"{name}: what every cell measured",
            "One row per cell, one column per outcome: rows that differ between DCs after the run, lost updates, "
            "distinct replication errors, appliers stopped at the end, and each of the workload's invariants "
            "(its promises to customers), counted from the rows every DC holds. Each column is shaded on its own "
            "scale; white is zero.",
            lambda name=name: workload_plots.workload_scorecard(cells, name)))
        if any(c.startswith(schema.OVERWRITTEN_PREFIX) and cells[c].fillna(0).astype(int).sum() > 0
               for c in cells.columns):
            found.append(Plot(
                f"workload-{name}-lost-updates.png", f"{name}: which operation overwrote the lost updates",
                "For each cell that lost updates: the operation of the write that replaced each lost write without "
                "having read it (the first such write found in the history).",
                lambda name=name: workload_plots.lost_update_attribution(cells, name)))
    return found


def _plots(results: Results, timelines: int) -> list[Plot]:
    """The figures for the run's kind: a workload run gets its workload's own figures, an incident or
    timeline run the incident matrix's; both get the checks and the timelines."""
    cells = results.cells
    chosen = plots.interesting_cells(results, limit=timelines)
    if results.runs[-1].kind == "workload":
        found = _workload_plots(cells)
        found.append(Plot("divergence-by-check.png", "Divergence at each check",
                          "How many rows differed between the DCs at each check, per cell.",
                          lambda: plots.divergence_by_check(results)))
        found += _timeline_plots(results, chosen)
        return found
    found = [
        Plot("heatmap-stuck-rows.png", "The incident matrix: stuck rows",
             "Each square is one combination of topology, binlog format and guard; the number is how many rows "
             "stayed different between the DCs even after the leader wrote them again. Anything above zero is "
             "data that stays wrong until someone repairs it by hand, while monitoring stays green.",
             lambda: plots.incident_heatmap(cells, "stuck_rows")),
        Plot("tradeoff.png", "The trade-off: lost updates against divergence",
             "x: writes the application saw succeed but that no DC holds at the end (silently lost). "
             "y: rows that differed between DCs after the overlap (dot) and rows that stayed stuck (ring). "
             "Guards that keep the DCs identical tend to do it by throwing writes away.",
             lambda: plots.tradeoff(cells)),
        Plot("divergence-by-check.png", "Divergence at each check",
             "How many rows differed at each check, in the order the checks ran: after the overlap, after the "
             "leader's next write, after the lab's probe write, after the fix. A bar that does not shrink is a "
             "row that writes cannot repair.",
             lambda: plots.divergence_by_check(results)),
    ]
    found += _timeline_plots(results, chosen)
    found.append(Plot("unhealed-rows.png", "Rows that never heal",
                      "Rows still different at the cell's last check, after the leader's write, the probe write "
                      "and the fix: each DC's value @ version. The full list is in the table below.",
                      lambda: plots.unhealed_table(cells, results.divergence)))
    return found


def _timeline_plots(results: Results, chosen: list[tuple[str, str]]) -> list[Plot]:
    return [Plot(f"timeline-{index}.png", f"Divergence over time: {cell}",
                 "Top: the phases of the cell. Then the diverged rows (sampled, or found by each check), the writes "
                 "each DC took (their proportions are the traffic share), replication lag when it was sampled, and "
                 "faults as shaded spans (the incident's forced overlap stops every replica's applier).",
                 lambda run=run, cell=cell: plots.divergence_timeline(results, cell, run))
            for index, (run, cell) in enumerate(chosen, start=1)]


def _cell_class(column: str, value: object) -> str:
    if pd.isna(value) or value == "":
        return ""
    if column == "status":
        return "failed" if value != "completed" else ""
    number = isinstance(value, numbers.Number) and not isinstance(value, bool)
    if schema.alarming(column) and number and value > 0:
        return "num bad"
    return "num" if number else ""


def _html_table(frame: pd.DataFrame) -> str:
    """A plain escaped HTML table; counts right-aligned, stuck rows and failures highlighted."""
    if frame.empty:
        return "<p>(none)</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.astype(object).itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            shown = "" if pd.isna(value) else str(value)
            css = _cell_class(column, value)
            cells.append(f'<td class="{css}">{html.escape(shown)}</td>' if css else f"<td>{html.escape(shown)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    # a wide table scrolls inside its own box; the page itself never scrolls sideways
    return f"<div class='wide'><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"


def write_html_report(run_dir: str | Path, output: str | Path | None = None, timelines: int = 3,
                      progress: Callable[[str], None] = lambda _m: None) -> Path:
    """Draw every plot of one run into RUN_DIR/plots/ and write the self-contained HTML; return its path."""
    run = latest_run(run_dir)
    results = Results([run])
    plots_dir = run.path / schema.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    for pattern in OWNED_PNGS:
        for stale in plots_dir.glob(pattern):
            stale.unlink()
    sections = []
    for plot in _plots(results, timelines):
        figure = plot.draw()
        path = plots.save(figure, plots_dir / plot.name)
        progress(f"wrote {path}")
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        sections.append(f"<h2>{html.escape(plot.heading)}</h2><figure>"
                        f'<img alt="{html.escape(plot.heading)}" src="data:image/png;base64,{encoded}">'
                        f"<figcaption>{html.escape(plot.caption)}</figcaption></figure>")
    meta = run.meta
    summary = report_table(results.cells, meta.get("parameters"))
    unhealed = plots.unhealed_table_rows(results.unhealed())
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(run.started)) if run.started else "unknown"
    body = [
        f"<h1>{html.escape(str(meta.get('experiment', run.name)))}: results</h1>",
        f"<p class='meta'>run <code>{html.escape(run.name)}</code>, started {started}, seed "
        f"{html.escape(str(meta.get('seed')))}, lab {html.escape(str(meta.get('lab_version')))}; cells "
        f"{meta.get('cells_done')} of {meta.get('cells_planned')} ({meta.get('cells_failed')} failed); completed: "
        f"{meta.get('completed')}; servers: {html.escape(run.servers)}. Every number is measured from the servers "
        "and <code>history.jsonl</code>; "
        f"{html.escape(explained_in(run.kind))} explains each column.</p>",
        "<h2>Summary per cell</h2>", _html_table(summary),
        *sections,
        *_violation_tables(results),
        f"<h2>Rows that never heal: all {len(unhealed)}</h2>", _html_table(unhealed),
    ]
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(str(meta.get('experiment', run.name)))}: {html.escape(run.name)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")
    target = Path(output) if output else run.path / schema.REPORT_HTML
    target.write_text(page, encoding="utf-8")
    write_report(run.path)  # report.md now links to the HTML and the PNGs
    return target


def _violation_tables(results: Results, limit: int = 200) -> list[str]:
    """Workload runs: every broken invariant and every lost write (up to `limit` rows each)."""
    violations, lost = results.violations, results.lost_updates
    out = []
    if len(violations):
        shown = violations.drop(columns=["run"]).head(limit)
        out += [f"<h2>Broken invariants: {len(violations)} (first {len(shown)})</h2>", _html_table(shown)]
    if len(lost):
        shown = lost.drop(columns=["run"]).head(limit)
        out += [f"<h2>Lost updates: {len(lost)} (first {len(shown)})</h2>", _html_table(shown)]
    return out
