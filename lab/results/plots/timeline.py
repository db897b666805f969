"""One cell over time: diverged rows, writes per DC, replication lag, faults and phases."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from lab.results import Results, cell_start, check_counts, fault_intervals
from lab.results.plots.base import (
    CHECK_COLOR,
    DC_COLORS,
    FAULT_COLORS,
    LINK_COLORS,
    completed,
    integer_axis,
    legend_above,
    message,
    new_figure,
    styled,
)
from lab.results.schema import PARAMETERS, SHARE_PREFIX


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


def _draw_phases(axes: Axes, spans: list[tuple[str, float, float]], end: float) -> None:
    """A band of named segments; a name wider than its segment drops to a second line, offset."""
    inches_per_second = 8.6 / max(end, 1e-9)
    last_low_end = -np.inf
    for index, (name, start, stop) in enumerate(spans):
        if name == "check":  # checks are the labelled points below; here they are only a coloured segment
            axes.axvspan(start, stop, color=CHECK_COLOR, linewidth=0)
            continue
        axes.axvspan(start, stop, color="#f2f2f2" if index % 2 else "#d5d5d5", linewidth=0)
        text_seconds = len(name) * 7 * 0.6 / 72 / inches_per_second
        middle = (start + stop) / 2
        if text_seconds <= (stop - start) * 0.95:
            axes.text(middle, 0.62, name, ha="center", va="center", fontsize=7)
        elif middle - text_seconds / 2 > last_low_end:
            axes.text(middle, 0.15, name, ha="center", va="center", fontsize=6.5, color="#333333")
            axes.plot([middle, middle], [0.28, 0.45], color="#333333", linewidth=0.6)
            last_low_end = middle + text_seconds / 2
    axes.set_ylim(0, 1)
    axes.set_yticks([])
    axes.set_ylabel("phase\n(blue: check)", rotation=0, ha="right", va="center")
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)


def _draw_divergence(axes: Axes, series: pd.DataFrame, checks: pd.DataFrame, zero: pd.Timestamp) -> None:
    """Diverged rows: the sampled line where the cell sampled, and every check as a labelled point."""
    top = 1
    if not series.empty and series["diverged_rows"].notna().any():
        samples = series.drop_duplicates("time").dropna(subset=["diverged_rows"])
        values = samples["diverged_rows"].astype(float).to_numpy()
        axes.step(_seconds(samples["time"], zero), values, where="post", color="#d62728",
                  label="sampled diverged rows")
        top = max(top, int(np.nanmax(values)))
    if not checks.empty:
        x = _seconds(checks["time"], zero)
        y = checks["diverged_rows"].astype(float).to_numpy()
        axes.scatter(x, y, s=45, color="black", zorder=3,
                     label="diverged rows found by a check (not measured between checks)")
        for k, (xi, yi, name) in enumerate(zip(x, y, checks["check"], strict=True)):
            axes.annotate(name, (xi, yi), xytext=(0, 8 if k % 2 == 0 else 19), textcoords="offset points",
                          fontsize=7, ha="center")
        top = max(top, int(np.nanmax(y)))
    integer_axis(axes, "y", top * 1.2)
    axes.set_ylabel("diverged rows")
    legend_above(axes)


def _draw_writes(axes: Axes, writes: pd.DataFrame, series: pd.DataFrame, zero: pd.Timestamp, end: float) -> None:
    """Writes per DC, stacked (their proportions are the traffic share), and the planned share per DC."""
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
        axes.bar(edges[:-1], counts, width=width, bottom=bottom, align="edge", color=dc_color[dc],
                 label=f"writes on {dc}", linewidth=0, zorder=2)
        bottom = bottom + counts
    integer_axis(axes, "y", float(bottom.max()) if len(bottom) else 1.0)
    span = f"{round(width * 1000)} ms" if width < 1 else f"{width:g} s"
    axes.set_ylabel(f"writes per {span}\n(stacked by DC)")
    handles, _labels = axes.get_legend_handles_labels()
    if share_columns:
        share_axes = axes.twinx()
        samples = series.drop_duplicates("time")
        outline = [patheffects.withStroke(linewidth=4, foreground="white")]
        for column in share_columns:
            dc = column[len(SHARE_PREFIX):]
            handles += share_axes.plot(_seconds(samples["time"], zero), samples[column] * 100, drawstyle="steps-post",
                                       color=dc_color[dc], linestyle="--", linewidth=2, path_effects=outline,
                                       label=f"planned share of {dc} (right axis)")
        share_axes.set_ylim(0, 105)
        share_axes.set_ylabel("planned traffic share (%)")
    legend_above(axes, handles)


def _draw_lag(axes: Axes, series: pd.DataFrame, zero: pd.Timestamp) -> None:
    for index, (link, samples) in enumerate(series.groupby("link", observed=True)):
        axes.plot(_seconds(samples["time"], zero), samples["lag_s"].astype(float), marker="o", markersize=3,
                  drawstyle="steps-post", linewidth=1.2, color=LINK_COLORS[index % len(LINK_COLORS)],
                  label=f"link {link}")
    axes.set_ylim(0, max(1.0, float(series["lag_s"].max())) * 1.15)
    axes.set_ylabel("replication lag (s)\n(as the replica reports it)")
    legend_above(axes)


def _shade_faults(figure: Figure, panels: list[Axes], intervals: pd.DataFrame, zero: pd.Timestamp,
                  end: float) -> None:
    """Every fault as a shaded span across the panels (hatched when no heal was recorded)."""
    handles = []
    for index, fault in enumerate(intervals.itertuples(index=False)):
        color = FAULT_COLORS[index % len(FAULT_COLORS)]
        start = float((fault.start - zero).total_seconds())
        stop = float((fault.end - zero).total_seconds()) if not pd.isna(fault.end) else end
        for axes in panels:
            axes.axvspan(start, max(stop, start + end / 400), color=color, alpha=0.18, linewidth=0,
                         hatch=None if fault.healed else "//", zorder=0)
        lasted = f"{stop - start:.2f} s" if fault.healed else f"≥ {stop - start:.2f} s, no heal recorded"
        target = f" on {fault.target}" if not pd.isna(fault.target) and str(fault.target) else ""
        handles.append(Patch(color=color, alpha=0.35, label=f"fault: {fault.fault}{target}, {lasted}"))
    if handles:
        figure.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)


def _subtitle(results: Results, run: str, cell: str) -> str:
    parameters = results.cells[(results.cells["run"].astype(object) == run) & (results.cells["cell"] == cell)]
    if not len(parameters):
        return cell
    row = parameters.iloc[0]
    return " · ".join(str(row[p]) for p in PARAMETERS if p in row and not pd.isna(row[p])
                      and str(row[p]) not in ("", "-"))


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
            return message("No completed cell to show.", "Divergence over time")
        run, cell = picked[0]
    mine = history[history["cell"].astype(object) == cell]
    if run is None:
        run = str(mine["run"].iloc[-1]) if len(mine) else ""
    mine = mine[mine["run"].astype(object) == run]
    if mine.empty:
        return message(f"No history for cell {cell}.", "Divergence over time")
    zero = cell_start(history, run, cell)
    end = float(_seconds(mine["time"], zero).max())
    series = results.timeseries
    series = series[(series["run"].astype(object) == run) & (series["cell"].astype(object) == cell)]
    writes = mine[(mine["type"].astype(object) == "op") & mine["kind"].astype(object).isin(["update", "insert"])
                  & (mine["phase"].astype(object) != "seed")]
    faults = results.faults
    intervals = fault_intervals(faults[(faults["run"].astype(object) == run)
                                       & (faults["cell"].astype(object) == cell)])
    has_lag = not series.empty and series["lag_s"].notna().any()
    ratios = [0.45, 2.2, 1.6] + ([1.4] if has_lag else [])
    figure = new_figure(10, 1.2 + 1.55 * sum(ratios))
    panels = list(figure.subplots(len(ratios), 1, sharex=True, gridspec_kw={"height_ratios": ratios}))
    _draw_phases(panels[0], _phase_spans(mine, zero, end), end)
    _draw_divergence(panels[1], series, check_counts(mine), zero)
    _draw_writes(panels[2], writes, series, zero, end)
    if has_lag:
        _draw_lag(panels[3], series, zero)
    _shade_faults(figure, panels[1:], intervals, zero, end)
    panels[-1].set_xlabel("seconds since the cell started")
    panels[-1].set_xlim(0, end * 1.04 if end > 0 else 1)
    figure.suptitle(f"Divergence over time: {_subtitle(results, run, cell)}")
    return figure


def interesting_cells(results: Results, limit: int = 3) -> list[tuple[str, str]]:
    """(run, cell) pairs worth a timeline: sampled cells first, then one cell per guard of the worst setting.

    "Worst setting" is the (flavor, topology, binlog_format, mode) whose cells have the most stuck rows,
    then the most diverged rows; showing one cell per guard there puts the guards side by side.
    """
    done = completed(results.cells)
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


