"""Run a timeline of faults: start each at its time, heal it after its duration.

Timing is all this module does. The guarantee that every started fault is healed at exit (error,
Ctrl-C, SIGTERM) belongs to `lab.faults.FaultSet`, which this wraps.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from lab.faults.base import Fault
from lab.faults.context import FaultContext
from lab.faults.faultset import FaultSet
from lab.faults.spec import build


class FaultSchedule:
    def __init__(self, ctx: FaultContext, entries: list[Any]) -> None:
        """Build every fault up front, so a bad target fails the cell before any traffic starts."""
        ordered = sorted(enumerate(entries), key=lambda item: item[1].at)
        self.entries = [entry for _, entry in ordered]
        self.faults: list[Fault] = [build(ctx, entry.fault, where=f"timeline.{index}.fault")
                                    for index, entry in ordered]
        self.fault_set = FaultSet(ctx)

    def active_names(self) -> list[str]:
        return [fault.id for fault in self.fault_set.active]

    def run(self, t0: float, until: float, stop: threading.Event) -> None:
        """Block until `until`, starting and healing faults on time. Faults planned after `until` never start."""
        actions: list[tuple[float, int, str]] = []
        for index, entry in enumerate(self.entries):
            actions.append((t0 + entry.at, index, "start"))
            if entry.duration is not None:
                actions.append((t0 + entry.at + entry.duration, index, "heal"))
        actions.sort(key=lambda action: (action[0], action[2] == "start"))
        for when, index, what in actions:
            if when > until or stop.wait(max(0.0, when - time.monotonic())):
                break
            if what == "start":
                self.fault_set.start(self.faults[index])
            else:
                self.fault_set.heal(self.faults[index])
        stop.wait(max(0.0, until - time.monotonic()))

    def __enter__(self) -> FaultSchedule:
        self.fault_set.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.fault_set.__exit__(*exc_info)
