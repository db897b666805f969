"""Figures of a run, by family: the incident matrix and trade-off, divergence over time, checks and
rows that never heal, and the workloads' scorecards. Each takes frames from lab.results and returns
a matplotlib Figure on the Agg canvas; `save` writes it. In a notebook, `display(fig)` shows it.
"""

from lab.results.plots.base import new_figure, present_values, save
from lab.results.plots.checks import divergence_by_check, unhealed_table, unhealed_table_rows
from lab.results.plots.incident import incident_heatmap, tradeoff
from lab.results.plots.timeline import divergence_timeline, interesting_cells
from lab.results.plots.workload import lost_update_attribution, workload_scorecard, workloads

__all__ = ["divergence_by_check", "divergence_timeline", "incident_heatmap", "interesting_cells",
           "lost_update_attribution", "new_figure", "present_values", "save", "tradeoff", "unhealed_table",
           "unhealed_table_rows", "workload_scorecard", "workloads"]
