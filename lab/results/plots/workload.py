"""Figures of workload runs: a scorecard of every cell's measured outcomes, and who overwrote lost writes.

Same conventions as every figure of lab.results.plots: counts are integers from the results, failed cells are drawn as
failed (never as zero), and each figure says what one square or bar stands for.
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lab.results.plots.base import completed, integer_axis, legend_above, message, new_figure, present_values, styled
from lab.results.schema import INVARIANT_PREFIX, OVERWRITTEN_PREFIX
from lab.results.summary import parameter_columns

OUTCOMES = {"diverged_after_overlap": "diverged\nrows", "lost_updates": "lost\nupdates",
            "replication_errors": "replication\nerrors", "stopped_appliers": "stopped\nappliers"}


def workloads(cells: pd.DataFrame) -> list[str]:
    return present_values(cells, "workload") if "workload" in cells.columns else []


def _cells_of(cells: pd.DataFrame, workload: str) -> pd.DataFrame:
    mine = cells[cells["workload"].astype(object) == workload]
    return mine.dropna(axis=1, how="all")


def _varying(frame: pd.DataFrame) -> list[str]:
    """The parameters (categorical columns of cells) that differ between these cells, flavor aside."""
    knobs = [c for c in frame.columns if frame[c].dtype.name == "category" and c not in ("run", "status")]
    return [c for c in parameter_columns(frame, knobs) if c != "flavor" and frame[c].nunique() > 1]


def _row_label(row: pd.Series, columns: list[str]) -> str:
    return " · ".join(str(row[c]) for c in columns) or str(row["cell"])


@styled
def workload_scorecard(cells: pd.DataFrame, workload: str) -> Figure:
    """One row per cell, one column per measured outcome and invariant; the number is the count.

    Each column is shaded on its own scale (darker = more of that column), so a column of zeros stays
    white whatever the other columns hold. One panel per flavor.
    """
    title = f"{workload}: what every cell measured"
    mine = _cells_of(cells, workload) if workload in workloads(cells) else pd.DataFrame()
    if mine.empty:
        return message(f"No {workload} cells in these results.", title)
    measures = [c for c in OUTCOMES if c in mine.columns]
    measures += [c for c in mine.columns if c.startswith(INVARIANT_PREFIX)]
    labels = [OUTCOMES.get(c, c.removeprefix(INVARIANT_PREFIX).replace("_", "\n")) for c in measures]
    flavors = present_values(mine, "flavor")
    varying = _varying(mine)
    per_flavor = [mine[mine["flavor"].astype(object) == f] for f in flavors]
    rows = max(len(frame) for frame in per_flavor)
    figure = new_figure(max(7.0, 2.6 + 0.95 * len(measures)) * len(flavors), 1.6 + 0.24 * rows)
    grid = figure.subplots(1, len(flavors), squeeze=False)[0]
    done = completed(mine)
    maxima = {c: max(1, int(pd.to_numeric(done[c], errors="coerce").max() or 0)) for c in measures}
    cmap = mpl.colormaps["Reds"]
    for axes, flavor, frame in zip(grid, flavors, per_flavor, strict=True):
        shades = np.zeros((len(frame), len(measures)))
        for r, (_, row) in enumerate(frame.iterrows()):
            failed = str(row.get("status")) != "completed"
            for c, column in enumerate(measures):
                value = row[column]
                if failed or pd.isna(value):
                    text = "failed" if failed else "n/a"
                    axes.text(c, r, text, ha="center", va="center", fontsize=7, color="#777777")
                    continue
                shades[r, c] = 0.08 + 0.8 * int(value) / maxima[column] if int(value) else 0.0
                axes.text(c, r, str(int(value)), ha="center", va="center", fontsize=8, fontweight="bold",
                          color="white" if shades[r, c] > 0.55 else "black")
        axes.imshow(shades, cmap=cmap, vmin=0, vmax=1, aspect="auto")
        axes.set_xticks(range(len(measures)), labels)
        axes.xaxis.tick_top()
        axes.set_yticks(range(len(frame)), [_row_label(row, varying) for _, row in frame.iterrows()])
        axes.tick_params(length=0)
        axes.set_title(flavor, pad=28)
        axes.set_ylabel(" · ".join(varying) or "cell")
    figure.suptitle(f"{title}\neach row is one cell; each column is shaded on its own scale (darker = more)")
    return figure


@styled
def lost_update_attribution(cells: pd.DataFrame, workload: str) -> Figure:
    """Per cell with lost updates: how many were overwritten, unseen, by each application operation."""
    title = f"{workload}: which operation overwrote the lost updates"
    mine = _cells_of(cells, workload) if workload in workloads(cells) else pd.DataFrame()
    columns = [c for c in mine.columns if c.startswith(OVERWRITTEN_PREFIX)]
    if mine.empty or not columns:
        return message(f"No {workload} cells with lost-update attribution.", title)
    done = completed(mine)
    done = done[pd.to_numeric(done["lost_updates"], errors="coerce").fillna(0) > 0]
    if done.empty:
        return message("No cell lost an update.", title)
    varying = _varying(mine) + (["flavor"] if mine["flavor"].nunique() > 1 else [])
    labels = [_row_label(row, varying) for _, row in done.iterrows()]
    figure = new_figure(8.5, 1.4 + 0.28 * len(done))
    axes = figure.add_subplot()
    left = np.zeros(len(done))
    palette = mpl.colormaps["tab10"].colors
    for index, column in enumerate(columns):
        values = pd.to_numeric(done[column], errors="coerce").fillna(0).to_numpy(dtype=float)
        if values.any():
            axes.barh(range(len(done)), values, left=left, color=palette[index % len(palette)],
                      label=column.removeprefix(OVERWRITTEN_PREFIX))
        left += values
    unattributed = pd.to_numeric(done["lost_updates"], errors="coerce").to_numpy(dtype=float) - left
    if (unattributed > 0).any():
        axes.barh(range(len(done)), unattributed, left=left, color="#cccccc", label="no overwriting write found")
    axes.set_yticks(range(len(done)), labels)
    axes.invert_yaxis()
    integer_axis(axes, "x", top=float(pd.to_numeric(done["lost_updates"], errors="coerce").max()))
    axes.set_xlabel("lost updates (acknowledged writes no DC holds, replaced by a write that had not seen them)")
    legend_above(axes)
    figure.suptitle(title)
    return figure
