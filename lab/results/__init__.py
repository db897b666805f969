"""results: the run directory (written cell by cell), its loader into pandas, and the reports drawn from it.

    from lab import results
    r = results.load("results/")            # every run under results/ (or one run dir, a glob, or a list)
    r = results.load_latest("results/")     # only the most recent run
    r.cells, r.history, r.divergence, r.faults, r.timeseries   # DataFrames, each with a `run` column
    r.violations, r.lost_updates            # broken invariants, lost writes and who overwrote them
    r.unhealed()                            # rows still diverged at their cell's last check

    schema     every file name, column, dtype and verdict code (one owner for each)
    writer     `RunDirectory`: what `lab run` writes, cell by cell
    runs       find and open run directories; refuse a format this lab cannot read, in one line
    compat     format 1, read as format 2
    frames/    one loader per file family; dtypes: how columns are typed
    api        `Results` and `load`/`load_latest`
    answers    rows that never heal, fault intervals, divergence per check
    summary    which columns the terminal and the reports show
    markdown, html, plots/
               report.md, report.html and the figures
    expect     `--expect` conditions for CI

Every frame starts with a `run` column so frames from many runs can be concatenated. Parameters are
categoricals in the order the experiment file lists them, counts are nullable integers (a failed
cell has no counts, not zeros), times are UTC datetimes, text is the nullable "string" dtype. Frames
keep their documented columns even when a run has nothing to put in them.
"""

from lab.results.answers import cell_start, check_counts, fault_intervals, unhealed_rows
from lab.results.api import Results, Sources, load, load_latest
from lab.results.runs import ResultsError, ResultsWarning, Run, find_runs, latest_run, open_run
from lab.results.schema import (
    CELLS_COLUMNS,
    DIVERGENCE_COLUMNS,
    FAULT_COLUMNS,
    HISTORY_COLUMNS,
    INTERVAL_COLUMNS,
    LOST_UPDATE_COLUMNS,
    PARAMETERS,
    SHARE_PREFIX,
    SUPPORTED_FORMATS,
    TIMESERIES_COLUMNS,
    UNHEALED_COLUMNS,
    VIOLATION_COLUMNS,
)

__all__ = [
    "CELLS_COLUMNS", "DIVERGENCE_COLUMNS", "FAULT_COLUMNS", "HISTORY_COLUMNS", "INTERVAL_COLUMNS",
    "LOST_UPDATE_COLUMNS", "PARAMETERS", "SHARE_PREFIX", "SUPPORTED_FORMATS", "TIMESERIES_COLUMNS",
    "UNHEALED_COLUMNS", "VIOLATION_COLUMNS", "Results", "ResultsError", "ResultsWarning", "Run", "Sources",
    "cell_start", "check_counts", "fault_intervals", "find_runs", "latest_run", "load", "load_latest", "open_run",
    "unhealed_rows",
]
