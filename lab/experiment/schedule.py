"""Run a timeline of faults: start each at its time, heal it after its duration, heal everything at exit.

The exit path heals every started fault whatever happened (error, Ctrl-C, SIGTERM), so a cell never
leaves a partition, a paused server or a stopped applier behind for the next cell.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from lab.cluster import Lab
from lab.history import History
from lab.workload.clock import AppClock


class FaultSchedule:
    def __init__(self, lab: Lab, history: History, clocks: dict[str, AppClock], entries: list[Any]) -> None:
        self.history = history
        self.entries = sorted(entries, key=lambda entry: entry.at)
        self.faults: list[Any] = []
        if self.entries:
            from lab.faults import build_fault

            self.faults = [build_fault(entry.fault, lab=lab, history=history, clocks=clocks)
                           for entry in self.entries]
        self.active: dict[int, Any] = {}
        self._lock = threading.Lock()

    def active_names(self) -> list[str]:
        with self._lock:
            return [self.faults[index].name for index in sorted(self.active)]

    def _start(self, index: int) -> None:
        fault = self.faults[index]
        fault.start()
        with self._lock:
            self.active[index] = fault

    def _heal(self, index: int) -> None:
        with self._lock:
            fault = self.active.pop(index, None)
        if fault is not None:
            fault.heal()

    def run(self, t0: float, until: float, stop: threading.Event) -> None:
        """Block until `until`, starting and healing faults on time."""
        actions: list[tuple[float, int, str]] = []
        for index, entry in enumerate(self.entries):
            actions.append((t0 + entry.at, index, "start"))
            if entry.duration is not None:
                actions.append((t0 + entry.at + entry.duration, index, "heal"))
        actions.sort(key=lambda action: (action[0], action[2] == "start"))
        for when, index, what in actions:
            if when > until:
                break
            if stop.wait(max(0.0, when - time.monotonic())):
                return
            if what == "start":
                self._start(index)
            else:
                self._heal(index)
        stop.wait(max(0.0, until - time.monotonic()))

    def heal_all(self) -> None:
        errors = []
        for index in sorted(self.active, reverse=True):
            try:
                self._heal(index)
            except Exception as exc:  # keep healing the others; report after
                errors.append(f"{self.faults[index].name}: {exc}")
        if errors:
            self.history.event("heal_failed", errors=errors)
            raise RuntimeError("could not heal: " + "; ".join(errors))

    def __enter__(self) -> FaultSchedule:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.heal_all()
