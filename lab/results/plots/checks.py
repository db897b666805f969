"""Divergence at each check, and the rows that never heal."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from lab.results import Results, check_counts, unhealed_rows
from lab.results.plots.base import (
    completed,
    guard_colors,
    guard_label,
    integer_axis,
    message,
    new_figure,
    plural,
    present_values,
    styled,
)


@styled
def divergence_by_check(results: Results) -> Figure:
    """Diverged rows at each check, per guard: how each guard's divergence evolves phase by phase.

    Bars add up the cells of each panel (flavor and mode in rows, binlog_format in columns), including
    cells where nothing diverged, so a missing bar is a true zero.
    """
    title = "Diverged rows at each check, per guard"
    counts = check_counts(results.history)
    done = completed(results.cells)
    if counts.empty or done.empty:
        return message("No checks recorded.", title)
    counts = counts.assign(run=counts["run"].astype(str), cell=counts["cell"].astype(str))
    merged = counts.merge(done.assign(run=done["run"].astype(str), cell=done["cell"].astype(str)),
                          on=["run", "cell"], how="inner")
    checks = list(dict.fromkeys(counts["check"]))
    panels = [(f, m) for f in present_values(done, "flavor") for m in present_values(done, "mode")
              if ((merged["flavor"].astype(object) == f) & (merged["mode"].astype(object) == m)).any()]
    formats, guards = present_values(done, "binlog_format"), present_values(done, "guard")
    colors = guard_colors(guards)
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
            integer_axis(axes, "y", top)
            note = "/".join(str(n) for n in sorted(set(sizes.tolist()))) or "0"
            word = "cell" if note == "1" else "cells"
            axes.set_title(f"{flavor} · {mode} · {binlog_format}\n(each bar: sum of {note} {word})", fontsize=9)
            axes.grid(True, axis="y", color="#dddddd", linewidth=0.6)
            axes.set_axisbelow(True)
            if j == 0:
                axes.set_ylabel("diverged rows")
            if i == len(panels) - 1:
                axes.set_xlabel("check (in the order they ran)")
    handles = [Patch(color=colors[guard], label=guard_label(guard)) for guard in guards]
    figure.legend(handles=handles, loc="outside lower center", ncol=len(guards), frameon=False)
    left_out = len(results.cells) - len(done)
    figure.suptitle(title + (f"\n({plural(left_out, 'failed cell')} left out)" if left_out else ""))
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
        return message("No row stayed diverged: every diverged row converged by its cell's last check.", title)
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
