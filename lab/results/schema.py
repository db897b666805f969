"""The results format: every file name, column, dtype and verdict code of a run directory, in one place.

The writer (lab.results.writer), the loader (lab.results.load and its frame modules), report.md,
report.html and the plots all read their names from here, so a column is named, typed and explained
once. Format 2 is written now; format 1 (written before the single cell engine) still loads through
lab.results.compat, the only module that knows how it differed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

RESULTS_FORMAT = 2
SUPPORTED_FORMATS = frozenset({1, 2})

# --- files ------------------------------------------------------------------------------------
RUN_FILE = "run.json"                  # what was run, by which lab, and whether it completed
EXPERIMENT_COPY = "experiment.yaml"    # the experiment file as it was when the run started
HISTORY_FILE = "history.jsonl"         # every operation, phase, check, fault and event of every cell
CELLS_FILE = "cells.csv"               # one row per cell: parameters and verdict counts
TIMESERIES_FILE = "timeseries.csv"     # every sampled cell's samples, with a `cell` column (also per cell)
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
PLOTS_DIR = "plots"
CELLS_DIR = "cells"                    # cells/<cell id>/ holds the per-cell files below
DIVERGENCE_FILE = "divergence.csv"     # every diverged row at every check, each DC's values and the verdict
SUMMARY_FILE = "summary.json"          # the cell's row of cells.csv, with its nested counts
STATUS_FILE = "status.json"            # link status at each check, and the replication errors seen
VIOLATIONS_FILE = "violations.csv"     # broken invariants
LOST_UPDATES_FILE = "lost_updates.csv"  # lost writes, and the write that overwrote each one unseen

# --- dtypes: what the loader turns each kind of column into ------------------------------------
TEXT, CATEGORY, COUNT, FLOAT = "text", "category", "count", "float"


@dataclass(frozen=True)
class Column:
    """One column of cells.csv: its dtype kind, what it means, and where the summaries show it."""

    name: str
    kind: str
    meaning: str
    short: str = ""          # its name in the terminal table
    terminal: bool = False   # shown in the terminal summary of `lab run`
    report: bool = False     # shown in the summary tables of report.md and report.html
    alarm: bool = False      # a value above zero is highlighted in report.html


# The lab's own matrix keys, in this order in every cell id and table. Experiment files use these names.
PARAMETERS: tuple[str, ...] = ("topology", "binlog_format", "guard", "flavor", "mode", "version_order")
_PARAMETER_MEANINGS = {
    "topology": "the topology file the cell ran on",
    "binlog_format": "STATEMENT, ROW or MIXED on every server",
    "guard": "the update guard of the application's writes",
    "flavor": "the server family and version",
    "mode": "how the overlap was forced: deterministic, concurrent, timeline, single_dc",
    "version_order": "which DC writes the newer version in the incident's overlap",
}
_SHORT = {"binlog_format": "format", "version_order": "versions"}

CELL_COLUMNS: tuple[Column, ...] = (
    Column("cell", TEXT, "the cell's id: its parameter values joined by dots"),
    *(Column(name, CATEGORY, _PARAMETER_MEANINGS[name], short=_SHORT.get(name, ""), terminal=True)
      for name in PARAMETERS),
    Column("status", CATEGORY, "completed; refused (the servers refused the cell's binlog format or every write "
           "under it: `binlog_format_outcome` says how, no step ran); or failed (`error` says why)"),
    Column("design", CATEGORY, "how the servers replicate: async, semi-sync, group multi-primary, group "
           "single-primary, galera"),
    Column("overlap", CATEGORY, "how the incident's overlap was forced: held_appliers, txn_dc2_first, "
           "txn_dc1_first, stale_read, concurrent (empty for other kinds)"),
    Column("binlog_format_outcome", TEXT, "what the servers did with the cell's binlog format: accepted, "
           "accepted with warnings, refused (errno), writes rejected (errno), refused to start"),
    Column("binlog_format_applied_as", CATEGORY, "how: `server option` (the lab started for this cell) or "
           "`SET GLOBAL` (a running lab was reset for it)"),
    Column("overlap_updates", COUNT, "guarded UPDATEs the application issued in the overlap phase"),
    Column("overlap_updates_applied", COUNT, "of those, the ones that changed a row on their own DC"),
    Column("conflicting_rows", COUNT, "rows that two DCs both changed locally in the overlap", report=True),
    Column("operations", COUNT, "statements the application ran up to the end of its story (probes excluded)"),
    Column("operation_errors", COUNT, "of those, the ones the server refused (deadlock, lost connection, ...)"),
    Column("rejected_writes", COUNT,
           "guarded UPDATEs and DELETEs that matched no row: the application's 'someone else changed it'"),
    Column("certification_rollbacks", COUNT,
           "writes the design rolled back because a conflicting write was certified first (MySQL 3101/1180, "
           "Galera 1213, which a local deadlock also gives); per DC in certification_rollbacks_<dc>",
           short="cert_rb", report=True),
    Column("applied_updates_per_s", FLOAT, "UPDATEs that changed a row per second of concurrent traffic; "
           "write_ms_p50_<dc> and write_ms_p99_<dc> give their statement latency per DC"),
    Column("version_regressions", COUNT, "successful writes that set a version older than the one they read"),
    Column("diverged_after_overlap", COUNT, "rows that differ between DCs at the first check, after catch-up",
           short="diverged", terminal=True, report=True),
    Column("diverged_after_leader_write", COUNT, "the same, after the leader's one extra write", report=True),
    Column("stuck_rows", COUNT, "diverged rows that a write under the same guard and format did not converge",
           short="stuck", terminal=True, report=True, alarm=True),
    Column("untouched_diverged", COUNT, "diverged rows the application never wrote again after the overlap",
           short="untouched", terminal=True, report=True),
    Column("diverged_after_fix", COUNT, "diverged rows after the fix and one more write per row",
           short="after_fix", terminal=True, report=True, alarm=True),
    Column("healed_by_fix", COUNT, "rows diverged before the fix and not after it"),
    Column("still_diverged_by_fix", COUNT, "rows diverged before and after the fix"),
    Column("newly_diverged_by_fix", COUNT, "rows diverged after the fix only"),
    Column("lost_updates", COUNT,
           "acknowledged writes whose change no DC holds, and that no later write replaced knowingly",
           short="lost_upd", terminal=True, report=True),
    Column("lost_updates_after_fix", COUNT, "the same rule, applied at the very end of the cell", report=True),
    Column("replication_errors", COUNT, "distinct (link, thread, errno) errors seen on any link",
           short="repl_err", terminal=True, report=True),
    Column("stopped_appliers", COUNT, "replication appliers not running at the end of the story",
           short="stopped", terminal=True, report=True),
    Column("invariant_violations", COUNT, "broken promises of the workload, counted from every DC's rows",
           short="violations", terminal=True, report=True, alarm=True),
    Column("seconds", FLOAT, "wall time of the cell's steps (phase_seconds in summary.json splits it by phase)"),
    Column("checks_s", FLOAT, "of those, the seconds spent comparing the DCs at the cell's checks"),
    Column("lab_start_s", FLOAT, "seconds before the cell spent starting its lab (0 when it reused the lab of the "
           "cell before)"),
    Column("reset_s", FLOAT, "seconds before the cell spent resetting a reused lab (0 when it started one)"),
    Column("error", TEXT, "why a failed cell failed, in one line"),
)
CELL_COLUMN_NAMES: tuple[str, ...] = tuple(column.name for column in CELL_COLUMNS)
# Columns that measure the machine or the shape of the run, not the servers: two runs of a deterministic cell
# differ only there.
# (`binlog_format_applied_as` depends on which cell of a run, or of a shard, started the lab.)
TIMING_COLUMNS: tuple[str, ...] = ("seconds", "checks_s", "lab_start_s", "reset_s", "binlog_format_applied_as",
                                   "applied_updates_per_s")
LATENCY_PREFIX = "write_ms_"   # write_ms_p50_<dc>, write_ms_p99_<dc>: statement latency, a timing column too


def timing(column: str) -> bool:
    """Does this column measure the machine (or the run's shape) rather than what the servers did?"""
    return column in TIMING_COLUMNS or column.startswith(LATENCY_PREFIX)
COLUMNS_BY_NAME = {column.name: column for column in CELL_COLUMNS}


def numeric_columns(extra: list[str]) -> list[str]:
    """The columns an `--expect` condition can test: the lab's counts and figures, then a workload's `extra`
    columns (its invariants, operations and counts; not the workload's name)."""
    return [*(c.name for c in CELL_COLUMNS if c.kind in (COUNT, FLOAT)),
            *(name for name in extra if name != WORKLOAD_COLUMN and name not in COLUMNS_BY_NAME)]

# Columns a workload adds after the lab's own: its name, one per invariant, one per operation, its counts.
WORKLOAD_COLUMN = "workload"
INVARIANT_PREFIX = "inv_"          # inv_<invariant>: violations of that invariant
OVERWRITTEN_PREFIX = "overwritten_by_"  # overwritten_by_<op>: lost writes overwritten unseen by that operation
CERTIFICATION_PREFIX = "certification_rollbacks_"   # certification_rollbacks_<dc>: those of one DC's clients
STATUSES = ("completed", "refused", "failed")


def invariant_column(invariant: str) -> str:
    return f"{INVARIANT_PREFIX}{invariant}"


def overwritten_column(operation: str) -> str:
    return f"{OVERWRITTEN_PREFIX}{operation}"


def workload_columns(invariants: list[str], operations: list[str], counts: list[str]) -> list[str]:
    """The cells.csv columns a workload adds, from the names of its invariants, operations and counts."""
    return ([WORKLOAD_COLUMN] + [invariant_column(name) for name in invariants]
            + [overwritten_column(name) for name in operations] + list(counts))


def alarming(column: str) -> bool:
    """Is a value above zero in this column bad news that the reports highlight?"""
    found = COLUMNS_BY_NAME.get(column)
    return bool(found and found.alarm) or column.startswith(INVARIANT_PREFIX)


def short_name(column: str) -> str:
    found = COLUMNS_BY_NAME.get(column)
    return (found.short if found and found.short else {"exec_mode": "exec"}.get(column, column))


TERMINAL_COUNTS: tuple[str, ...] = tuple(c.name for c in CELL_COLUMNS if c.terminal and c.name not in PARAMETERS)
REPORT_COUNTS: tuple[str, ...] = tuple(c.name for c in CELL_COLUMNS if c.report)

# --- per-row verdicts (divergence.csv) -------------------------------------------------------


class RowVerdict(str, Enum):
    """What became of a diverged row by its cell's last check before any fix."""

    STUCK = "stuck"            # a write under the same guard and format did not converge it
    DIVERGED = "diverged"      # still diverged, and no such write was made to it
    CONVERGED = "converged"    # a later write converged it

    @property
    def text(self) -> str:
        return {"stuck": "stuck under current guard/format", "diverged": "diverged",
                "converged": "converged after a leader write"}[self.value]


class FixVerdict(str, Enum):
    """What the experiment's fix did to a row that was diverged before it."""

    HEALED = "healed_by_fix"
    STILL_DIVERGED = "still_diverged_after_fix"

    @property
    def text(self) -> str:
        return {"healed_by_fix": "healed by fix", "still_diverged_after_fix": "still diverged after fix"}[self.value]


UNTOUCHED_TEXT = "never written again by the app"


def verdict_text(verdict: str, untouched: bool, fix: str | None) -> str:
    """The human sentence for a row's verdict codes, e.g. 'stuck under current guard/format; healed by fix'."""
    parts = [RowVerdict(verdict).text]
    if untouched:
        parts.append(UNTOUCHED_TEXT)
    if fix:
        parts.append(FixVerdict(fix).text)
    return "; ".join(parts)


# divergence.csv: these first, then `<dc>.present` and `<dc>.<column>` for every DC and table column.
DIVERGENCE_FILE_COLUMNS: tuple[str, ...] = (
    "key", "check", "table", "kind", "dcs", "verdict", "untouched", "fix", "lost_update_on_key")
PRESENT_SUFFIX = ".present"

# --- per-cell tables ---------------------------------------------------------------------------
VIOLATION_FILE_COLUMNS: tuple[str, ...] = ("invariant", "dc", "table", "key", "detail")
LOST_UPDATE_FILE_COLUMNS: tuple[str, ...] = (
    "seq", "dc", "client", "op", "table", "key", "changes", "overwritten_by_seq", "overwritten_by_op",
    "overwritten_by_dc")

# --- frames the loader returns (each starts with `run`) ----------------------------------------
CELLS_COLUMNS: tuple[str, ...] = ("run", *CELL_COLUMN_NAMES)
HISTORY_COLUMNS: tuple[str, ...] = (
    "run", "cell", "seq", "type", "time", "phase", "event", "name", "dc", "server", "client", "kind", "op", "guard",
    "table", "key", "value", "version", "read_version", "new_version", "rows_affected", "error", "start", "end",
    "duration_ms", "statement", "experiment",
)
HISTORY_CATEGORIES = ("run", "cell", "experiment", "type", "phase", "event", "name", "dc", "server", "client",
                      "kind", "op", "guard", "table")
HISTORY_INTEGERS = ("seq", "key", "version", "read_version", "new_version", "rows_affected")
HISTORY_TIMES = ("time", "start", "end")
HISTORY_TEXT = ("value", "error", "statement")
DIVERGENCE_COLUMNS: tuple[str, ...] = (
    "run", "cell", *PARAMETERS, "key", "check", "table", "kind", "dcs", "verdict", "verdict_text",
    "lost_update_on_key", "stuck", "never_written_again", "healed_by_fix",
)
VIOLATION_COLUMNS: tuple[str, ...] = ("run", "cell", WORKLOAD_COLUMN, *VIOLATION_FILE_COLUMNS)
LOST_UPDATE_COLUMNS: tuple[str, ...] = ("run", "cell", WORKLOAD_COLUMN, *LOST_UPDATE_FILE_COLUMNS)
FAULT_COLUMNS: tuple[str, ...] = ("run", "cell", "seq", "time", "phase", "fault", "action", "target")
TIMESERIES_COLUMNS: tuple[str, ...] = (
    "run", "cell", "time", "t", "phase", "diverged_rows", "link", "io", "sql", "lag_s",
    "last_sql_errno", "last_io_errno", "active_faults",
    "member", "member_state", "member_role", "members_online", "cluster_status", "cluster_size",
    "semi_sync", "semi_sync_yes_tx", "semi_sync_no_tx",
)
SHARE_PREFIX = "share_"   # timeseries share_<dc>: that DC's planned share of traffic (0..1)
UNHEALED_COLUMNS: tuple[str, ...] = (
    "run", "cell", *PARAMETERS, "key", "first_check", "final_check", "kind", "verdict", "lost_update_on_key",
)
INTERVAL_COLUMNS: tuple[str, ...] = ("run", "cell", "fault", "target", "start", "end", "healed")
TIME_DTYPE = "datetime64[ns, UTC]"
