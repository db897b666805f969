"""The history: an append-only JSONL log of every operation, phase change and fault. Evidence for every verdict.

Records are flushed line by line, so a crash or Ctrl-C never loses what was already recorded.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path
from typing import Any


class History:
    """Thread-safe recorder shared by every client of a run. Keeps the current cell's records in memory too."""

    def __init__(self, path: Path | None, experiment: str, first_seq: int = 1) -> None:
        self.path = path
        self.experiment = experiment
        self.cell: str = ""
        self.phase: str = ""
        self._lock = threading.Lock()
        self._sequence = itertools.count(first_seq)
        self._handle = path.open("a", buffering=1) if path else None
        self.records: list[dict[str, Any]] = []

    def append(self, record_type: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            record = {
                "seq": next(self._sequence),
                "type": record_type,
                "experiment": self.experiment,
                "cell": self.cell,
                "phase": self.phase,
                **fields,
            }
            record.setdefault("time", time.time())
            self.records.append(record)
            if self._handle:
                self._handle.write(json.dumps(record, default=str) + "\n")
            return record

    def start_cell(self, cell: str, parameters: dict[str, Any]) -> None:
        self.cell, self.phase = cell, ""
        self.records = []
        self.append("cell", event="start", parameters=parameters)

    def set_phase(self, phase: str) -> None:
        """Enter a phase (recorded once: entering the phase the history is already in records nothing)."""
        if phase != self.phase:
            self.phase = phase
            self.append("phase", event="enter", name=phase)

    def event(self, event_name: str, **fields: Any) -> dict[str, Any]:
        return self.append("event", event=event_name, **fields)

    def operations(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["type"] == "op"]

    def close(self) -> None:
        if self._handle:
            self._handle.close()
            self._handle = None


INTERRUPTED_SUFFIX = ".interrupted.jsonl"


def keep_cells(path: Path, cells: set[str]) -> int:
    """Before a killed run resumes: keep the records of `cells` (the recorded ones) in the history, move every
    other record (a cell cut short, a line cut off) to <history>.interrupted.jsonl, and return the next `seq`.

    Nothing is dropped: what the interrupted cell recorded stays readable beside the history.
    """
    if not path.exists():
        return 1
    kept, moved, last = [], [], 0
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            moved.append(line)
            continue
        last = max(last, int(record.get("seq") or 0))
        (kept if record.get("cell") in cells else moved).append(line)
    if moved:
        with path.with_name(path.stem + INTERRUPTED_SUFFIX).open("a") as aside:
            aside.write("".join(f"{line}\n" for line in moved))
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text("".join(f"{line}\n" for line in kept))
    scratch.replace(path)
    return last + 1
