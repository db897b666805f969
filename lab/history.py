"""The history: an append-only JSONL log of every operation, phase change and fault. Evidence for every verdict.

One writer thread encodes and writes the records, in order, in batches, a few milliseconds behind the
clients: a client thread only numbers its record, so recording every statement does not slow the workload
down. `flush()` waits until every record so far is on disk; the runner calls it before it records a cell,
so a kill can only lose the tail of a cell that a resume runs again. Ctrl-C and SIGTERM lose nothing.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
import weakref
from pathlib import Path
from typing import Any

BATCH_SECONDS = 0.005
ENCODE = json.JSONEncoder(default=str).encode   # one encoder, not one per record as json.dumps(default=...) makes


class _Writer:
    """The thread that owns the history file: drains the queue, writes each batch as one write, flushes it."""

    def __init__(self, path: Path) -> None:
        self.queue: queue.SimpleQueue[dict[str, Any] | threading.Event | None] = queue.SimpleQueue()
        self.handle = path.open("a")
        self.thread = threading.Thread(target=self.run, name=f"history-{path.name}", daemon=True)
        self.thread.start()

    def run(self) -> None:
        done = False
        while not done:
            batch, waiting = [self.queue.get()], []
            time.sleep(BATCH_SECONDS)   # let a batch gather: one wake-up and one write per batch, not per record
            while True:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            lines = []
            for item in batch:
                if item is None:
                    done = True
                elif isinstance(item, threading.Event):
                    waiting.append(item)
                else:
                    lines.append(ENCODE(item) + "\n")
            if lines:
                self.handle.write("".join(lines))
                self.handle.flush()
            for event in waiting:
                event.set()
        self.handle.close()

    def flush(self, timeout: float = 30.0) -> None:
        if self.thread.is_alive():
            written = threading.Event()
            self.queue.put(written)
            written.wait(timeout)

    def close(self) -> None:
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join(timeout=30)


class History:
    """Thread-safe recorder shared by every client of a run. Keeps the current cell's records in memory too."""

    def __init__(self, path: Path | None, experiment: str, first_seq: int = 1) -> None:
        self.path = path
        self.experiment = experiment
        self.cell: str = ""
        self.phase: str = ""
        self._lock = threading.Lock()
        self._sequence = itertools.count(first_seq)
        self._writer = _Writer(path) if path else None
        if self._writer is not None:   # a process that exits without close() still writes every record
            weakref.finalize(self, self._writer.close)
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
            if self._writer is not None:
                self._writer.queue.put(record)
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

    def flush(self) -> None:
        """Return once every record appended so far is written to the file."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


INTERRUPTED_SUFFIX = ".interrupted.jsonl"


def phase_seconds(records: list[dict[str, Any]], end: float) -> dict[str, float]:
    """Wall seconds a cell spent in each phase, from its phase records' times up to `end` (a phase entered
    twice adds up). Where a cell's time goes is read from the history, like every other figure."""
    spent: dict[str, float] = {}
    entered = [(r["phase"], float(r["time"])) for r in records if r["type"] == "phase" and r.get("event") == "enter"]
    for (phase, start), (_, until) in zip(entered, [*entered[1:], ("", end)], strict=True):
        spent[phase] = round(spent.get(phase, 0.0) + max(0.0, until - start), 3)
    return spent


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
