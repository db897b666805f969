"""Divergence checker: the exact rows that differ between DCs, read directly from each DC.

    from lab.checker import compare_table, compare_checks
    result = compare_table({"dc1": ep1, "dc2": ep2}, "lab.t")
    result.in_sync, result.rows, result.differences, result.read_at, result.stats
    compare_checks(before, after)   # healed / still_diverged / newly_diverged per key

Modules, one job each: schema (introspection), sqlgen and literals (SQL text), session
(connections, snapshots, positions), planner (chunk size, hash-vs-list decisions), keyspace
(where chunks are cut), walk (chunks and bisection), lanes (walks over parts of the key
space at once), digests (list comparison), rows (row fetch
and classification), divergences (the diverged keys, held column-wise), result (DataFrames),
repair (winner policies and SQL), report (before/after), targets and output (what the CLI reads
and prints).
"""

from lab.checker.compare import compare_table
from lab.checker.healing import compare_checks
from lab.checker.planner import Tuning
from lab.checker.result import CheckResult

__all__ = ["CheckResult", "Tuning", "compare_checks", "compare_table"]
