"""Figures of a run: the incident matrix, the guard trade-off, divergence over time, and rows that never heal.

Every function takes frames from lab.results and returns a matplotlib Figure drawn on the Agg canvas,
without touching pyplot, so reports can draw many figures from any thread and nothing opens a window.
In a notebook, `display(fig)` (or a figure as a cell's last value) shows it inline.

Conventions that keep the pictures honest: counts sit on integer axes that start at zero; squares or
points that add several cells say how many; cells that failed or were not run are drawn as such, never
as zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import ParamSpec

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

from lab.results import SHARE_PREFIX, Results, cell_start, check_counts, fault_intervals, unhealed_rows
from lab.workload.guards import Guard

VALUE_LABELS = {
    "stuck_rows": "stuck rows (a leader write could not converge them)",
    "diverged_after_overlap": "rows diverged after the overlap",
    "diverged_after_leader_write": "rows diverged after the leader's write",
    "untouched_diverged": "diverged rows the app never wrote again",
    "diverged_after_fix": "rows still diverged after the fix",
    "lost_updates": "lost updates (acknowledged writes that vanished)",
    "replication_errors": "distinct replication errors",
}
DC_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")
FAULT_COLORS = ("#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
NOT_RUN_COLOR = "#e6e6e6"
CHECK_COLOR = "#9ecae1"
LINK_COLORS = ("#17becf", "#7f7f7f", "#bcbd22", "#e377c2")
P = ParamSpec("P")
FONT = {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
        "xtick.labelsize": 8, "ytick.labelsize": 8, "figure.titlesize": 11}


def styled(draw: Callable[P, Figure]) -> Callable[P, Figure]:
    """Draw with the lab's font sizes without changing the caller's matplotlib settings."""

    @wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Figure:
        with mpl.rc_context(FONT):
            return draw(*args, **kwargs)

    return wrapper


def new_figure(width: float, height: float) -> Figure:
    """A Figure bound to the Agg canvas (no pyplot state), with constrained layout."""
    figure = Figure(figsize=(width, height), layout="constrained", dpi=110)
    FigureCanvasAgg(figure)
    return figure


def save(figure: Figure, path: str | Path, dpi: int = 130) -> Path:
    """Write a PNG (the directory is created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi, facecolor="white")
    return path


@styled
def _message(text: str, title: str) -> Figure:
    figure = new_figure(7, 1.6)
    figure.suptitle(title)
    axes = figure.add_subplot()
    axes.axis("off")
    axes.text(0.5, 0.5, text, ha="center", va="center", fontsize=10, wrap=True)
    return figure


def present_values(frame: pd.DataFrame, column: str) -> list[str]:
    """Values of a column in their categorical (experiment file) order, only those that occur."""
    series = frame[column]
    if hasattr(series, "cat"):
        seen = set(series.dropna().astype(str))
        return [str(c) for c in series.cat.categories if str(c) in seen]
    return sorted(series.dropna().astype(str).unique())


def _integer_axis(axis: Axes, which: str = "y", top: float | None = None) -> None:
    """Counts: whole-number ticks, zero at the origin, a little headroom above the largest value."""
    target = axis.yaxis if which == "y" else axis.xaxis
    target.set_major_locator(MaxNLocator(integer=True, min_n_ticks=2))
    limit = max(1.0, float(top if top is not None else 0))
    if which == "y":
        axis.set_ylim(0, limit * 1.15)
    else:
        axis.set_xlim(0, limit * 1.15)


def _legend_above(axes: Axes, handles: list | None = None) -> None:
    """A one-line legend above the panel, so it never hides data."""
    if handles is None:
        handles, _labels = axes.get_legend_handles_labels()
    if handles:
        axes.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=min(4, len(handles)),
                    frameon=False, borderaxespad=0.2, handlelength=1.8)


def _completed(cells: pd.DataFrame) -> pd.DataFrame:
    return cells[cells["status"].astype(object) == "completed"] if "status" in cells else cells


def _guard_colors(guards: Sequence[str]) -> dict[str, str]:
    palette = mpl.colormaps["tab10"].colors
    return {guard: mpl.colors.to_hex(palette[i % len(palette)]) for i, guard in enumerate(guards)}


def _guard_condition(guard: str) -> str:
    """The guard's WHERE condition as the app writes it, e.g. `version = read`."""
    known = Guard.registry.get(guard)
    if known is None:
        return ""
    return (known.condition or "no condition").replace("%(read)s", "read").replace("%(new)s", "new")


def _guard_label(guard: str) -> str:
    condition = _guard_condition(guard)
    return f"{guard}: WHERE {condition}" if condition and condition != "no condition" else guard


def _plural(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


# --- 1. the incident matrix -------------------------------------------------------------------------
@styled
def incident_heatmap(cells: pd.DataFrame, value: str = "stuck_rows", title: str | None = None) -> Figure:
    """Rows topology x binlog_format, columns guard, colour = `value`; one panel per flavor and mode.

    A square that holds several cells (other version orders, other runs) shows their sum and says so.
    Squares that were not run are grey; squares with a failed cell are hatched.
    """
    label = VALUE_LABELS.get(value, value.replace("_", " "))
    title = title or f"Incident matrix: {label}"
    if cells.empty or value not in cells.columns:
        return _message("No cells to show.", title)
    flavors, modes = present_values(cells, "flavor"), present_values(cells, "mode")
    guards = present_values(cells, "guard")
    rows = [(t, f) for t in present_values(cells, "topology") for f in present_values(cells, "binlog_format")
            if ((cells["topology"].astype(object) == t) & (cells["binlog_format"].astype(object) == f)).any()]
    done = _completed(cells)
    keys = ["flavor", "mode", "topology", "binlog_format", "guard"]
    totals = done.groupby(keys, observed=True)[value].agg(["sum", "count"])
    failed = cells[cells["status"].astype(object) != "completed"].groupby(keys, observed=True).size() \
        if "status" in cells else pd.Series(dtype=int)
    ran = done.groupby(keys, observed=True).size()
    totals = totals[totals["count"] > 0]
    if totals.empty:
        return _message(f"No completed cell reports {value}.", title)
    vmax = max(1, int(totals["sum"].max()))
    counts = set(totals["count"].tolist())
    cmap = ListedColormap(mpl.colormaps["Reds"](np.linspace(0.04, 0.9, vmax + 1)))
    norm = BoundaryNorm(np.arange(-0.5, vmax + 1.5), cmap.N)

    label_width = max(len(f"{t} · {f}") for t, f in rows) * 0.065
    width = max(7.5, label_width + len(modes) * (0.9 * len(guards) + 0.6) + 1.4)
    height = len(flavors) * (0.42 * len(rows) + 1.1) + 1.0
    figure = new_figure(width, height)
    grid = figure.subplots(len(flavors), len(modes), squeeze=False, sharex=True, sharey=True)
    for i, flavor in enumerate(flavors):
        for j, mode in enumerate(modes):
            axes = grid[i][j]
            here = (cells["flavor"].astype(object) == flavor) & (cells["mode"].astype(object) == mode)
            if not here.any():
                axes.set_facecolor("white")
                axes.tick_params(left=False, bottom=False)
                for spine in axes.spines.values():
                    spine.set_visible(False)
                axes.text(0.5, 0.5, f"no {flavor} · {mode} cells\nin these results", transform=axes.transAxes,
                          ha="center", va="center", color="#777777")
                continue
            matrix = np.full((len(rows), len(guards)), np.nan)
            for r, (topology, binlog_format) in enumerate(rows):
                for c, guard in enumerate(guards):
                    key = (flavor, mode, topology, binlog_format, guard)
                    has_value = key in totals.index and totals.loc[key, "count"] > 0
                    if has_value:
                        matrix[r, c] = totals.loc[key, "sum"]
                        number = int(matrix[r, c])
                        text = str(number)
                        if len(counts) > 1:
                            text += f"\n({int(totals.loc[key, 'count'])} cells)"
                        shade = norm(number) / max(1, cmap.N - 1)
                        axes.text(c, r, text, ha="center", va="center", fontsize=9 if len(counts) == 1 else 7,
                                  fontweight="bold", color="white" if shade > 0.6 else "black")
                    n_failed = int(failed.get(key, 0)) if len(failed) else 0
                    if n_failed:
                        axes.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, hatch="///",
                                                 edgecolor="#555555", linewidth=0))
                        axes.text(c, r + 0.32 if has_value else r, f"{n_failed} failed", ha="center", va="center",
                                  fontsize=7, bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5})
                    elif not has_value:  # completed cells without this count (e.g. no fix) are not "not run"
                        text = "n/a" if key in ran.index else "not run"
                        axes.text(c, r, text, ha="center", va="center", fontsize=7, color="#777777")
            axes.set_facecolor(NOT_RUN_COLOR)
            axes.imshow(np.ma.masked_invalid(matrix), cmap=cmap, norm=norm, aspect="auto")
            for r in range(1, len(rows)):
                if rows[r][0] != rows[r - 1][0]:
                    axes.axhline(r - 0.5, color="black", linewidth=1.2)
            axes.set_xticks(range(len(guards)), [f"{g}\n{_guard_condition(g)}".strip() for g in guards])
            axes.set_yticks(range(len(rows)), [f"{t} · {f}" for t, f in rows])
            axes.tick_params(length=0)
            axes.set_title(f"{flavor} · {mode}")
            if i == len(flavors) - 1:
                axes.set_xlabel("guard")
            if j == 0:
                axes.set_ylabel("topology · binlog_format")
    bar = figure.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=grid.ravel().tolist(), shrink=0.9,
                          pad=0.02, aspect=25)
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    each = "each square is one cell" if counts == {1} else \
        f"each square adds up {' or '.join(str(n) for n in sorted(counts))} cells (other version orders/runs)"
    bar.set_label(value.replace("_", " ") + (" per square" if counts != {1} else " per cell"))
    figure.suptitle(f"{title}\n{each}; darker = more", fontsize=10)
    return figure


# --- 2. the trade-off --------------------------------------------------------------------------------
@styled
def tradeoff(cells: pd.DataFrame) -> Figure:
    """Per guard: lost updates (x) against rows diverged after the overlap and rows stuck (y).

    One panel per flavor and mode (rows) and binlog_format (columns); each point adds up the panel's
    cells for one guard. A guard that avoids divergence usually pays in silently lost updates.
    """
    title = "Trade-off per guard: silently lost updates vs. diverged rows"
    done = _completed(cells)
    needed = {"lost_updates", "diverged_after_overlap", "stuck_rows"}
    if done.empty or not needed <= set(done.columns):
        return _message("No completed cells to show.", title)
    panels = [(f, m) for f in present_values(done, "flavor") for m in present_values(done, "mode")
              if ((done["flavor"].astype(object) == f) & (done["mode"].astype(object) == m)).any()]
    formats = present_values(done, "binlog_format")
    guards = present_values(done, "guard")
    colors = _guard_colors(guards)
    figure = new_figure(max(9.0, 1.2 + 3.1 * len(formats)), 0.9 + 2.7 * len(panels))
    grid = figure.subplots(len(panels), len(formats), squeeze=False)
    for i, (flavor, mode) in enumerate(panels):
        mine = done[(done["flavor"].astype(object) == flavor) & (done["mode"].astype(object) == mode)]
        sums = mine.groupby(["binlog_format", "guard"], observed=True)[sorted(needed)].sum()
        sizes = mine.groupby(["binlog_format", "guard"], observed=True).size()
        x_top = max(1, int(sums["lost_updates"].max()))
        y_top = max(1, int(sums[["diverged_after_overlap", "stuck_rows"]].max().max()))
        for j, binlog_format in enumerate(formats):
            axes = grid[i][j]
            labels: dict[tuple[int, int], list[str]] = {}
            n_cells = set()
            for guard in guards:
                if (binlog_format, guard) not in sums.index:
                    continue
                point = sums.loc[(binlog_format, guard)]
                x, diverged, stuck = int(point["lost_updates"]), int(point["diverged_after_overlap"]), \
                    int(point["stuck_rows"])
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
            _integer_axis(axes, "x", x_top * 1.15)
            _integer_axis(axes, "y", y_top)
            axes.set_xlim(-0.04 * x_top * 1.3, None)  # room for markers at zero; the first tick is still 0
            axes.set_ylim(-0.05 * y_top * 1.15, None)
            axes.grid(True, color="#dddddd", linewidth=0.6)
            axes.set_axisbelow(True)
            cells_note = "/".join(str(n) for n in sorted(n_cells)) or "0"
            word = "cell" if cells_note == "1" else "cells"
            axes.set_title(f"{flavor} · {mode} · {binlog_format}\n(each point: sum of {cells_note} {word})",
                           fontsize=9)
            axes.set_xlabel("lost updates (writes)")
            if j == 0:
                axes.set_ylabel("rows")
    handles = [Line2D([], [], marker="o", linestyle="", markersize=8, color=colors[g], markeredgecolor="black",
                      label=_guard_label(g)) for g in guards]
    handles += [Line2D([], [], marker="o", linestyle="", markersize=8, color="grey", markeredgecolor="black",
                       label="filled: rows diverged after the overlap"),
                Line2D([], [], marker="o", linestyle="", markersize=12, markerfacecolor="none",
                       markeredgecolor="grey", markeredgewidth=1.8,
                       label="ring: rows stuck (a leader write did not converge them)")]
    figure.legend(handles=handles, loc="outside lower center", ncol=min(3, len(handles)), frameon=False)
    left_out = len(cells) - len(done)
    figure.suptitle(title + (f"\n({_plural(left_out, 'failed cell')} left out)" if left_out else ""))
    return figure


# --- 3. divergence over time ---------------------------------------------------------------------------
def _seconds(times: pd.Series, zero: pd.Timestamp) -> np.ndarray:
    return ((times - zero).dt.total_seconds()).to_numpy(dtype=float)


def _bin_width(span: float) -> float:
    for width in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0):
        if span / width <= 60:
            return width
    return 120.0


def _phase_spans(history: pd.DataFrame, zero: pd.Timestamp, end: float) -> list[tuple[str, float, float]]:
    entered = history[(history["type"].astype(object) == "phase")]
    starts = _seconds(entered["time"], zero)
    names = [str(n).split(":")[0] for n in entered["name"].astype(object)]
    spans: list[tuple[str, float, float]] = []
    for index, (name, start) in enumerate(zip(names, starts, strict=True)):
        stop = starts[index + 1] if index + 1 < len(starts) else end
        if spans and spans[-1][0] == name:
            spans[-1] = (name, spans[-1][1], stop)
        else:
            spans.append((name, start, stop))
    return spans


@styled
def divergence_timeline(results: Results, cell: str | None = None, run: str | None = None) -> Figure:
    """One cell over time: diverged rows, writes per DC (traffic share), replication lag, faults and phases.

    With a sampled time series (timeline experiments) the divergence line and lag come from the samples;
    without one, the diverged-row counts come from the cell's checks, placed at the time each ran.
    """
    history = results.history
    if cell is None:
        picked = interesting_cells(results, limit=1)
        if not picked:
            return _message("No completed cell to show.", "Divergence over time")
        run, cell = picked[0]
    mine = history[history["cell"].astype(object) == cell]
    if run is None:
        run = str(mine["run"].iloc[-1]) if len(mine) else ""
    mine = mine[mine["run"].astype(object) == run]
    if mine.empty:
        return _message(f"No history for cell {cell}.", "Divergence over time")
    zero = cell_start(history, run, cell)
    end = float(_seconds(mine["time"], zero).max())
    series = results.timeseries
    series = series[(series["run"].astype(object) == run) & (series["cell"].astype(object) == cell)]
    checks = check_counts(mine)
    writes = mine[(mine["type"].astype(object) == "op") & mine["kind"].astype(object).isin(["update", "insert"])
                  & (mine["phase"].astype(object) != "seed")]
    faults = results.faults
    intervals = fault_intervals(faults[(faults["run"].astype(object) == run)
                                       & (faults["cell"].astype(object) == cell)], mine)
    has_lag = not series.empty and series["lag_s"].notna().any()

    ratios = [0.45, 2.2, 1.6] + ([1.4] if has_lag else [])
    figure = new_figure(10, 1.2 + 1.55 * sum(ratios))
    axes_list = figure.subplots(len(ratios), 1, sharex=True, gridspec_kw={"height_ratios": ratios})
    phase_axes, diverged_axes, writes_axes = axes_list[0], axes_list[1], axes_list[2]

    # phases: a band of named segments; a name wider than its segment drops to a second line, offset
    spans = _phase_spans(mine, zero, end)
    inches_per_second = 8.6 / max(end, 1e-9)
    last_low_end = -np.inf
    for index, (name, start, stop) in enumerate(spans):
        if name == "check":  # checks are the labelled points below; here they are only a coloured segment
            phase_axes.axvspan(start, stop, color=CHECK_COLOR, linewidth=0)
            continue
        phase_axes.axvspan(start, stop, color="#f2f2f2" if index % 2 else "#d5d5d5", linewidth=0)
        text_seconds = len(name) * 7 * 0.6 / 72 / inches_per_second
        middle = (start + stop) / 2
        if text_seconds <= (stop - start) * 0.95:
            phase_axes.text(middle, 0.62, name, ha="center", va="center", fontsize=7)
        elif middle - text_seconds / 2 > last_low_end:
            phase_axes.text(middle, 0.15, name, ha="center", va="center", fontsize=6.5, color="#333333")
            phase_axes.plot([middle, middle], [0.28, 0.45], color="#333333", linewidth=0.6)
            last_low_end = middle + text_seconds / 2
    phase_axes.set_ylim(0, 1)
    phase_axes.set_yticks([])
    phase_axes.set_ylabel("phase\n(blue: check)", rotation=0, ha="right", va="center")
    for side in ("top", "right", "left"):
        phase_axes.spines[side].set_visible(False)

    # diverged rows
    top = 1
    if not series.empty and series["diverged_rows"].notna().any():
        samples = series.drop_duplicates("time").dropna(subset=["diverged_rows"])
        values = samples["diverged_rows"].astype(float).to_numpy()
        diverged_axes.step(_seconds(samples["time"], zero), values, where="post", color="#d62728",
                           label="sampled diverged rows")
        top = max(top, int(np.nanmax(values)))
    if not checks.empty:
        x = _seconds(checks["time"], zero)
        y = checks["diverged_rows"].astype(float).to_numpy()
        diverged_axes.scatter(x, y, s=45, color="black", zorder=3,
                              label="diverged rows found by a check (not measured between checks)")
        for k, (xi, yi, name) in enumerate(zip(x, y, checks["check"], strict=True)):
            diverged_axes.annotate(name, (xi, yi), xytext=(0, 8 if k % 2 == 0 else 19), textcoords="offset points",
                                   fontsize=7, ha="center")
        top = max(top, int(np.nanmax(y)))
    _integer_axis(diverged_axes, "y", top * 1.2)
    diverged_axes.set_ylabel("diverged rows")
    _legend_above(diverged_axes)

    # writes per DC, stacked: their proportions are the traffic share
    width = _bin_width(end)
    edges = np.arange(0, end + width, width)
    bottom = np.zeros(max(len(edges) - 1, 0))
    dcs = sorted(writes["dc"].dropna().astype(str).unique()) if len(writes) else []
    share_columns = [c for c in series.columns if c.startswith(SHARE_PREFIX) and series[c].notna().any()]
    dc_names = sorted(set(dcs) | {c[len(SHARE_PREFIX):] for c in share_columns})
    dc_color = {dc: DC_COLORS[i % len(DC_COLORS)] for i, dc in enumerate(dc_names)}
    for dc in dcs:
        times = _seconds(writes.loc[writes["dc"].astype(object) == dc, "start"], zero)
        counts, _ = np.histogram(times, bins=edges)
        writes_axes.bar(edges[:-1], counts, width=width, bottom=bottom, align="edge", color=dc_color[dc],
                        label=f"writes on {dc}", linewidth=0, zorder=2)
        bottom = bottom + counts
    _integer_axis(writes_axes, "y", float(bottom.max()) if len(bottom) else 1.0)
    span = f"{round(width * 1000)} ms" if width < 1 else f"{width:g} s"
    writes_axes.set_ylabel(f"writes per {span}\n(stacked by DC)")
    handles, _labels = writes_axes.get_legend_handles_labels()
    if share_columns:
        share_axes = writes_axes.twinx()
        samples = series.drop_duplicates("time")
        outline = [patheffects.withStroke(linewidth=4, foreground="white")]
        for column in share_columns:
            dc = column[len(SHARE_PREFIX):]
            handles += share_axes.plot(_seconds(samples["time"], zero), samples[column] * 100, drawstyle="steps-post",
                                       color=dc_color[dc], linestyle="--", linewidth=2, path_effects=outline,
                                       label=f"planned share of {dc} (right axis)")
        share_axes.set_ylim(0, 105)
        share_axes.set_ylabel("planned traffic share (%)")
    _legend_above(writes_axes, handles)

    if has_lag:
        lag_axes = axes_list[3]
        for index, (link, samples) in enumerate(series.groupby("link", observed=True)):
            lag_axes.plot(_seconds(samples["time"], zero), samples["lag_s"].astype(float), marker="o", markersize=3,
                          drawstyle="steps-post", linewidth=1.2, color=LINK_COLORS[index % len(LINK_COLORS)],
                          label=f"link {link}")
        lag_axes.set_ylim(0, max(1.0, float(series["lag_s"].max())) * 1.15)
        lag_axes.set_ylabel("replication lag (s)\n(as the replica reports it)")
        _legend_above(lag_axes)

    # faults: shaded across every panel
    fault_handles = []
    for index, fault in enumerate(intervals.itertuples(index=False)):
        color = FAULT_COLORS[index % len(FAULT_COLORS)]
        start = float((fault.start - zero).total_seconds())
        stop = float((fault.end - zero).total_seconds()) if not pd.isna(fault.end) else end
        for axes in axes_list[1:]:
            axes.axvspan(start, max(stop, start + end / 400), color=color, alpha=0.18, linewidth=0,
                         hatch=None if fault.healed else "//", zorder=0)
        lasted = f"{stop - start:.2f} s" if fault.healed else f"≥ {stop - start:.2f} s, no heal recorded"
        target = f" on {fault.target}" if not pd.isna(fault.target) and str(fault.target) else ""
        fault_handles.append(Patch(color=color, alpha=0.35, label=f"fault: {fault.fault}{target}, {lasted}"))
    if fault_handles:
        figure.legend(handles=fault_handles, loc="outside lower center", ncol=2, frameon=False)
    axes_list[-1].set_xlabel("seconds since the cell started")
    axes_list[-1].set_xlim(0, end * 1.04 if end > 0 else 1)
    parameters = results.cells[(results.cells["run"].astype(object) == run) & (results.cells["cell"] == cell)]
    subtitle = cell
    if len(parameters):
        row = parameters.iloc[0]
        subtitle = " · ".join(str(row[p]) for p in ("flavor", "topology", "binlog_format", "guard", "mode",
                                                    "version_order")
                              if p in row and not pd.isna(row[p]) and str(row[p]) not in ("", "-"))
    figure.suptitle(f"Divergence over time: {subtitle}")
    return figure


def interesting_cells(results: Results, limit: int = 3) -> list[tuple[str, str]]:
    """(run, cell) pairs worth a timeline: sampled cells first, then one cell per guard of the worst setting.

    "Worst setting" is the (flavor, topology, binlog_format, mode) whose cells have the most stuck rows,
    then the most diverged rows; showing one cell per guard there puts the guards side by side.
    """
    done = _completed(results.cells)
    if done.empty:
        return []
    sampled = results.timeseries[["run", "cell"]].drop_duplicates().astype(str)
    picked = [(r.run, r.cell) for r in sampled.itertuples(index=False)][:limit]
    if picked:
        return picked
    setting = [c for c in ("run", "flavor", "topology", "binlog_format", "mode", "version_order") if c in done]
    ranking = [c for c in ("stuck_rows", "diverged_after_overlap", "overlap_updates") if c in done]
    score = done.groupby(setting, observed=True)[ranking].sum()
    worst = score.sort_values(ranking, ascending=False).index[0]
    mask = np.ones(len(done), dtype=bool)
    for column, value in zip(setting, worst, strict=True):
        mask &= (done[column].astype(object) == value).to_numpy()
    chosen = done[mask].sort_values("guard")
    return [(str(r.run), str(r.cell)) for r in chosen.itertuples(index=False)][:limit]


@styled
def divergence_by_check(results: Results) -> Figure:
    """Diverged rows at each check, per guard: how each guard's divergence evolves phase by phase.

    Bars add up the cells of each panel (flavor and mode in rows, binlog_format in columns), including
    cells where nothing diverged, so a missing bar is a true zero.
    """
    title = "Diverged rows at each check, per guard"
    counts = check_counts(results.history)
    done = _completed(results.cells)
    if counts.empty or done.empty:
        return _message("No checks recorded.", title)
    counts = counts.assign(run=counts["run"].astype(str), cell=counts["cell"].astype(str))
    merged = counts.merge(done.assign(run=done["run"].astype(str), cell=done["cell"].astype(str)),
                          on=["run", "cell"], how="inner")
    checks = list(dict.fromkeys(counts["check"]))
    panels = [(f, m) for f in present_values(done, "flavor") for m in present_values(done, "mode")
              if ((merged["flavor"].astype(object) == f) & (merged["mode"].astype(object) == m)).any()]
    formats, guards = present_values(done, "binlog_format"), present_values(done, "guard")
    colors = _guard_colors(guards)
    figure = new_figure(max(9.0, 1.2 + 3.3 * len(formats)), 1.0 + 2.6 * len(panels))
    grid = figure.subplots(len(panels), len(formats), squeeze=False, sharey="row")
    bar = 0.8 / max(1, len(guards))
    for i, (flavor, mode) in enumerate(panels):
        mine = merged[(merged["flavor"].astype(object) == flavor) & (merged["mode"].astype(object) == mode)]
        top = int(mine.groupby(["binlog_format", "guard", "check"], observed=True)["diverged_rows"].sum().max())
        for j, binlog_format in enumerate(formats):
            axes = grid[i][j]
            here = mine[mine["binlog_format"].astype(object) == binlog_format]
            sizes = here.groupby("guard", observed=True)["cell"].nunique()
            for k, guard in enumerate(guards):
                rows = here[here["guard"].astype(object) == guard]
                if rows.empty:
                    continue
                sums = rows.groupby("check")["diverged_rows"].sum().reindex(checks)
                x = np.arange(len(checks)) + (k - (len(guards) - 1) / 2) * bar
                ran = sums.notna().to_numpy()
                values = sums.fillna(0).astype(float).to_numpy()
                axes.bar(x[ran], values[ran], width=bar, color=colors[guard])
                for xi in x[ran & (values == 0)]:  # a zero bar is invisible: say it is a measured zero
                    axes.text(xi, 0, "0", ha="center", va="bottom", fontsize=7, color=colors[guard])
            axes.set_xticks(range(len(checks)), [c.replace("after_", "after\n") for c in checks], fontsize=7)
            _integer_axis(axes, "y", top)
            note = "/".join(str(n) for n in sorted(set(sizes.tolist()))) or "0"
            word = "cell" if note == "1" else "cells"
            axes.set_title(f"{flavor} · {mode} · {binlog_format}\n(each bar: sum of {note} {word})", fontsize=9)
            axes.grid(True, axis="y", color="#dddddd", linewidth=0.6)
            axes.set_axisbelow(True)
            if j == 0:
                axes.set_ylabel("diverged rows")
            if i == len(panels) - 1:
                axes.set_xlabel("check (in the order they ran)")
    handles = [Patch(color=colors[guard], label=_guard_label(guard)) for guard in guards]
    figure.legend(handles=handles, loc="outside lower center", ncol=len(guards), frameon=False)
    left_out = len(results.cells) - len(done)
    figure.suptitle(title + (f"\n({_plural(left_out, 'failed cell')} left out)" if left_out else ""))
    return figure


# --- 4. rows that never heal ----------------------------------------------------------------------------
def _short_cell(row: pd.Series) -> str:
    return " ".join(str(row[p]) for p in ("flavor", "topology", "binlog_format", "guard", "mode", "version_order")
                    if p in row and not pd.isna(row[p]) and str(row[p]) not in ("-", ""))


def unhealed_table_rows(unhealed: pd.DataFrame) -> pd.DataFrame:
    """The never-healed rows as display text: cell, key, when it first diverged, each DC's value @ version."""
    if unhealed.empty:
        return pd.DataFrame(columns=["cell", "key", "first diverged", "last check"])
    dcs = sorted({c.split(".")[0] for c in unhealed.columns if c.endswith(".present")})
    value_columns = {dc: [c for c in unhealed.columns if c.startswith(f"{dc}.") and c != f"{dc}.present"]
                     for dc in dcs}
    records = []
    for _, row in unhealed.iterrows():
        record = {"cell": _short_cell(row), "key": row["key"], "first diverged": str(row["first_check"]),
                  "last check": str(row["final_check"])}
        for dc in dcs:
            present = row.get(f"{dc}.present")
            column = f"{dc}: {' @ '.join(c.split('.', 1)[1] for c in value_columns[dc])}"
            if pd.isna(present):  # this cell's topology has no such DC (e.g. dc3 outside ring-3)
                record[column] = "–"
            elif not present:
                record[column] = "(missing)"
            else:
                record[column] = " @ ".join("" if pd.isna(row[c]) else str(row[c]) for c in value_columns[dc])
        record["lost update on key"] = "yes" if row.get("lost_update_on_key") is True else "no"
        records.append(record)
    return pd.DataFrame(records)


@styled
def unhealed_table(cells: pd.DataFrame, divergence: pd.DataFrame, limit: int = 20) -> Figure:
    """A table of rows still diverged at their cell's last check, with every DC's value @ version."""
    title = "Rows that never heal (still diverged at the last check, after probes and the fix)"
    table = unhealed_table_rows(unhealed_rows(cells, divergence))
    if table.empty:
        return _message("No row stayed diverged: every diverged row converged by its cell's last check.", title)
    shown = table.head(limit)
    height = 1.2 + 0.28 * (len(shown) + 1) + (0.3 if len(table) > limit else 0)
    figure = new_figure(13, height)
    axes = figure.add_subplot()
    axes.axis("off")
    drawn = axes.table(cellText=shown.astype(str).values.tolist(), colLabels=list(shown.columns), loc="upper center",
                       cellLoc="left", colLoc="left")
    drawn.auto_set_font_size(False)
    drawn.set_fontsize(8)
    drawn.auto_set_column_width(list(range(len(shown.columns))))
    for (row, _column), cell in drawn.get_celld().items():
        cell.set_height(1 / (len(shown) + 2))
        if row == 0:
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("#eeeeee")
    if len(table) > limit:
        figure.text(0.5, 0.01, f"... and {len(table) - limit} more rows (see report.html)", ha="center", fontsize=8)
    figure.suptitle(f"{title}: {len(table)} row(s)")
    # columns are as wide as their text: widen the figure until the whole table fits
    figure.canvas.draw()
    needed = drawn.get_window_extent(figure.canvas.get_renderer()).width / figure.dpi + 0.5
    if needed > figure.get_figwidth():
        figure.set_figwidth(needed)
    return figure
