"""What a long run tells the person waiting: each cell's verdict, the time elapsed and an estimate of what is left.

The estimate is the mean time per cell of this run so far times the cells left: cells of one matrix cost
about the same once their lab is up, and a lab start shows up in the mean as it will in what is left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


def clock(seconds: float) -> str:
    """`75` -> `1:15`, `3725` -> `1:02:05`."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def verdict_line(summary: dict) -> str:
    """A cell's verdict in a few words: what the servers did, or why the cell did not run."""
    if summary["status"] == "refused":
        return f"binlog format {summary.get('binlog_format_outcome')} (as {summary.get('binlog_format_applied_as')})"
    if summary["status"] != "completed":
        return f"FAILED: {summary['error']}"
    stuck = f", stuck {summary['stuck_rows']}" if summary.get("stuck_rows") is not None else ""
    line = (f"diverged {summary['diverged_after_overlap']}{stuck}, "
            f"lost {summary['lost_updates']}, repl errors {summary['replication_errors']}")
    if summary.get("invariant_violations") is not None:
        line += f", invariant violations {summary['invariant_violations']}"
    return f"{line} ({summary['seconds']}s)"


@dataclass
class RunProgress:
    """Counts cells as they finish; `line` is the progress line of the cell just done."""

    total: int
    done_before: int = 0          # cells a resumed run had already recorded
    now: Callable[[], float] = time.monotonic
    started: float = field(init=False)
    finished: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.started = self.now()

    def eta(self) -> float | None:
        """Seconds left, or None before the first cell of this run finished."""
        if not self.finished:
            return None
        left = self.total - self.done_before - self.finished
        return (self.now() - self.started) / self.finished * left

    def line(self, cell: str, summary: dict) -> str:
        self.finished += 1
        number = self.done_before + self.finished
        elapsed = clock(self.now() - self.started)
        left = self.eta()
        timing = f"elapsed {elapsed}" + (f", ETA {clock(left)}" if left else ", done")
        return f"[{number}/{self.total} {timing}] {cell}: {verdict_line(summary)}"
