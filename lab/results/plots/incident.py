"""The incident matrix as a heatmap, and the guards' trade-off between lost updates and divergence."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from lab.results.plots.base import (
    NOT_RUN_COLOR,
    VALUE_LABELS,
    completed,
    guard_colors,
    guard_condition,
    guard_label,
    integer_axis,
    message,
    new_figure,
    plural,
    present_values,
    styled,
)


# --- 1. the incident matrix -------------------------------------------------------------------------
@dataclass
class _Heat:
    """What every panel of the heatmap shares: its rows and columns, the sums per square, the colour scale."""

    value: str
    rows: list[tuple[str, str]]
    guards: list[str]
    totals: pd.DataFrame
    failed: pd.Series
    ran: pd.Series
    counts: set[int]
    cmap: ListedColormap
    norm: BoundaryNorm

    def square(self, axes: Axes, key: tuple[str, ...], r: int, c: int, matrix: np.ndarray) -> None:
        """One square: its sum (and how many cells it adds), a hatch and a count when a cell failed."""
        has_value = key in self.totals.index and self.totals.loc[key, "count"] > 0
        if has_value:
            matrix[r, c] = self.totals.loc[key, "sum"]
            number = int(matrix[r, c])
            text = str(number)
            if len(self.counts) > 1:
                text += f"\n({int(self.totals.loc[key, 'count'])} cells)"
            shade = self.norm(number) / max(1, self.cmap.N - 1)
            axes.text(c, r, text, ha="center", va="center", fontsize=9 if len(self.counts) == 1 else 7,
                      fontweight="bold", color="white" if shade > 0.6 else "black")
        n_failed = int(self.failed.get(key, 0)) if len(self.failed) else 0
        if n_failed:
            axes.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#555555",
                                     linewidth=0))
            axes.text(c, r + 0.32 if has_value else r, f"{n_failed} failed", ha="center", va="center",
                      fontsize=7, bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5})
        elif not has_value:  # completed cells without this count (e.g. no fix) are not "not run"
            axes.text(c, r, "n/a" if key in self.ran.index else "not run", ha="center", va="center", fontsize=7,
                      color="#777777")

    def panel(self, axes: Axes, flavor: str, mode: str) -> None:
        matrix = np.full((len(self.rows), len(self.guards)), np.nan)
        for r, (topology, binlog_format) in enumerate(self.rows):
            for c, guard in enumerate(self.guards):
                self.square(axes, (flavor, mode, topology, binlog_format, guard), r, c, matrix)
        axes.set_facecolor(NOT_RUN_COLOR)
        axes.imshow(np.ma.masked_invalid(matrix), cmap=self.cmap, norm=self.norm, aspect="auto")
        for r in range(1, len(self.rows)):
            if self.rows[r][0] != self.rows[r - 1][0]:
                axes.axhline(r - 0.5, color="black", linewidth=1.2)
        axes.set_xticks(range(len(self.guards)), [f"{g}\n{guard_condition(g)}".strip() for g in self.guards])
        axes.set_yticks(range(len(self.rows)), [f"{t} · {f}" for t, f in self.rows])
        axes.tick_params(length=0)
        axes.set_title(f"{flavor} · {mode}")


def _empty_panel(axes: Axes, flavor: str, mode: str) -> None:
    axes.set_facecolor("white")
    axes.tick_params(left=False, bottom=False)
    for spine in axes.spines.values():
        spine.set_visible(False)
    axes.text(0.5, 0.5, f"no {flavor} · {mode} cells\nin these results", transform=axes.transAxes,
              ha="center", va="center", color="#777777")


@styled
def incident_heatmap(cells: pd.DataFrame, value: str = "stuck_rows", title: str | None = None) -> Figure:
    """Rows topology x binlog_format, columns guard, colour = `value`; one panel per flavor and mode.

    A square that holds several cells (other version orders, other runs) shows their sum and says so.
    Squares that were not run are grey; squares with a failed cell are hatched.
    """
    label = VALUE_LABELS.get(value, value.replace("_", " "))
    title = title or f"Incident matrix: {label}"
    if cells.empty or value not in cells.columns:
        return message("No cells to show.", title)
    flavors, modes = present_values(cells, "flavor"), present_values(cells, "mode")
    rows = [(t, f) for t in present_values(cells, "topology") for f in present_values(cells, "binlog_format")
            if ((cells["topology"].astype(object) == t) & (cells["binlog_format"].astype(object) == f)).any()]
    done = completed(cells)
    keys = ["flavor", "mode", "topology", "binlog_format", "guard"]
    totals = done.groupby(keys, observed=True)[value].agg(["sum", "count"])
    totals = totals[totals["count"] > 0]
    if totals.empty:
        return message(f"No completed cell reports {value}.", title)
    failed = cells[cells["status"].astype(object) != "completed"].groupby(keys, observed=True).size() \
        if "status" in cells else pd.Series(dtype=int)
    vmax = max(1, int(totals["sum"].max()))
    cmap = ListedColormap(mpl.colormaps["Reds"](np.linspace(0.04, 0.9, vmax + 1)))
    heat = _Heat(value, rows, present_values(cells, "guard"), totals, failed, done.groupby(keys, observed=True).size(),
                 set(totals["count"].tolist()), cmap, BoundaryNorm(np.arange(-0.5, vmax + 1.5), cmap.N))
    label_width = max(len(f"{t} · {f}") for t, f in rows) * 0.065
    width = max(7.5, label_width + len(modes) * (0.9 * len(heat.guards) + 0.6) + 1.4)
    figure = new_figure(width, len(flavors) * (0.42 * len(rows) + 1.1) + 1.0)
    grid = figure.subplots(len(flavors), len(modes), squeeze=False, sharex=True, sharey=True)
    for i, flavor in enumerate(flavors):
        for j, mode in enumerate(modes):
            here = (cells["flavor"].astype(object) == flavor) & (cells["mode"].astype(object) == mode)
            (heat.panel if here.any() else _empty_panel)(grid[i][j], flavor, mode)
            if here.any() and i == len(flavors) - 1:
                grid[i][j].set_xlabel("guard")
            if here.any() and j == 0:
                grid[i][j].set_ylabel("topology · binlog_format")
    bar = figure.colorbar(mpl.cm.ScalarMappable(norm=heat.norm, cmap=cmap), ax=grid.ravel().tolist(), shrink=0.9,
                          pad=0.02, aspect=25)
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    counts = heat.counts
    each = "each square is one cell" if counts == {1} else \
        f"each square adds up {' or '.join(str(n) for n in sorted(counts))} cells (other version orders/runs)"
    bar.set_label(value.replace("_", " ") + (" per square" if counts != {1} else " per cell"))
    figure.suptitle(f"{title}\n{each}; darker = more", fontsize=10)
    return figure


# --- 2. the trade-off --------------------------------------------------------------------------------
def _tradeoff_panel(axes: Axes, sums: pd.DataFrame, sizes: pd.Series, binlog_format: str, guards: list[str],
                    colors: dict[str, str], tops: tuple[int, int]) -> set[int]:
    """One format's points: per guard, a dot at the diverged rows and a ring at the stuck rows."""
    labels: dict[tuple[int, int], list[str]] = {}
    n_cells = set()
    for guard in guards:
        if (binlog_format, guard) not in sums.index:
            continue
        point = sums.loc[(binlog_format, guard)]
        x, diverged, stuck = int(point["lost_updates"]), int(point["diverged_after_overlap"]), int(point["stuck_rows"])
        n_cells.add(int(sizes.loc[(binlog_format, guard)]))
        axes.plot([x, x], [stuck, diverged], color=colors[guard], linewidth=1.2, zorder=2)
        # the ring is larger than the dot, so "all diverged rows are stuck" shows as a ringed dot
        axes.scatter([x], [stuck], s=190, facecolor="none", edgecolor=colors[guard], linewidth=1.8, zorder=3,
                     clip_on=False)
        axes.scatter([x], [diverged], s=60, color=colors[guard], zorder=4, edgecolor="black", linewidth=0.5,
                     clip_on=False)
        labels.setdefault((x, diverged), []).append(guard)
    for (x, y), names in labels.items():
        axes.annotate(", ".join(names), (x, y), xytext=(6, 5), textcoords="offset points", fontsize=8)
    x_top, y_top = tops
    integer_axis(axes, "x", x_top * 1.15)
    integer_axis(axes, "y", y_top)
    axes.set_xlim(-0.04 * x_top * 1.3, None)  # room for markers at zero; the first tick is still 0
    axes.set_ylim(-0.05 * y_top * 1.15, None)
    axes.grid(True, color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    axes.set_xlabel("lost updates (writes)")
    return n_cells


def _tradeoff_legend(figure: Figure, guards: list[str], colors: dict[str, str]) -> None:
    handles = [Line2D([], [], marker="o", linestyle="", markersize=8, color=colors[g], markeredgecolor="black",
                      label=guard_label(g)) for g in guards]
    handles += [Line2D([], [], marker="o", linestyle="", markersize=8, color="grey", markeredgecolor="black",
                       label="filled: rows diverged after the overlap"),
                Line2D([], [], marker="o", linestyle="", markersize=12, markerfacecolor="none",
                       markeredgecolor="grey", markeredgewidth=1.8,
                       label="ring: rows stuck (a leader write did not converge them)")]
    figure.legend(handles=handles, loc="outside lower center", ncol=min(3, len(handles)), frameon=False)


@styled
def tradeoff(cells: pd.DataFrame) -> Figure:
    """Per guard: lost updates (x) against rows diverged after the overlap and rows stuck (y).

    One panel per flavor and mode (rows) and binlog_format (columns); each point adds up the panel's
    cells for one guard. A guard that avoids divergence usually pays in silently lost updates.
    """
    title = "Trade-off per guard: silently lost updates vs. diverged rows"
    done = completed(cells)
    needed = {"lost_updates", "diverged_after_overlap", "stuck_rows"}
    if done.empty or not needed <= set(done.columns):
        return message("No completed cells to show.", title)
    panels = [(f, m) for f in present_values(done, "flavor") for m in present_values(done, "mode")
              if ((done["flavor"].astype(object) == f) & (done["mode"].astype(object) == m)).any()]
    formats, guards = present_values(done, "binlog_format"), present_values(done, "guard")
    colors = guard_colors(guards)
    figure = new_figure(max(9.0, 1.2 + 3.1 * len(formats)), 0.9 + 2.7 * len(panels))
    grid = figure.subplots(len(panels), len(formats), squeeze=False)
    for i, (flavor, mode) in enumerate(panels):
        mine = done[(done["flavor"].astype(object) == flavor) & (done["mode"].astype(object) == mode)]
        sums = mine.groupby(["binlog_format", "guard"], observed=True)[sorted(needed)].sum()
        sizes = mine.groupby(["binlog_format", "guard"], observed=True).size()
        tops = (max(1, int(sums["lost_updates"].max())),
                max(1, int(sums[["diverged_after_overlap", "stuck_rows"]].max().max())))
        for j, binlog_format in enumerate(formats):
            n_cells = _tradeoff_panel(grid[i][j], sums, sizes, binlog_format, guards, colors, tops)
            cells_note = "/".join(str(n) for n in sorted(n_cells)) or "0"
            word = "cell" if cells_note == "1" else "cells"
            grid[i][j].set_title(f"{flavor} · {mode} · {binlog_format}\n(each point: sum of {cells_note} {word})",
                                 fontsize=9)
            if j == 0:
                grid[i][j].set_ylabel("rows")
    _tradeoff_legend(figure, guards, colors)
    left_out = len(cells) - len(done)
    figure.suptitle(title + (f"\n({plural(left_out, 'failed cell')} left out)" if left_out else ""))
    return figure
