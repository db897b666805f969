"""What every figure shares: the lab's font sizes, Agg-bound figures, integer count axes, guard colours.

Figures never touch pyplot, so reports can draw many from any thread and nothing opens a window.
Conventions that keep the pictures honest: counts sit on integer axes that start at zero; squares or
points that add several cells say how many; cells that failed or were not run are drawn as such,
never as zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import ParamSpec

import matplotlib as mpl
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from lab.workloads.guards import Guard

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
def message(text: str, title: str) -> Figure:
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


def integer_axis(axis: Axes, which: str = "y", top: float | None = None) -> None:
    """Counts: whole-number ticks, zero at the origin, a little headroom above the largest value."""
    target = axis.yaxis if which == "y" else axis.xaxis
    target.set_major_locator(MaxNLocator(integer=True, min_n_ticks=2))
    limit = max(1.0, float(top if top is not None else 0))
    if which == "y":
        axis.set_ylim(0, limit * 1.15)
    else:
        axis.set_xlim(0, limit * 1.15)


def legend_above(axes: Axes, handles: list | None = None) -> None:
    """A one-line legend above the panel, so it never hides data."""
    if handles is None:
        handles, _labels = axes.get_legend_handles_labels()
    if handles:
        axes.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=min(4, len(handles)),
                    frameon=False, borderaxespad=0.2, handlelength=1.8)


def completed(cells: pd.DataFrame) -> pd.DataFrame:
    return cells[cells["status"].astype(object) == "completed"] if "status" in cells else cells


def guard_colors(guards: Sequence[str]) -> dict[str, str]:
    palette = mpl.colormaps["tab10"].colors
    return {guard: mpl.colors.to_hex(palette[i % len(palette)]) for i, guard in enumerate(guards)}


def guard_condition(guard: str) -> str:
    """The guard's WHERE condition as the app writes it, e.g. `version = read`."""
    known = Guard.registry.get(guard)
    if known is None:
        return ""
    return (known.condition or "no condition").replace("%(read)s", "read").replace("%(new)s", "new")


def guard_label(guard: str) -> str:
    condition = guard_condition(guard)
    return f"{guard}: WHERE {condition}" if condition and condition != "no condition" else guard


def plural(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


