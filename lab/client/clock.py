"""Application clocks. Versions are epoch milliseconds, so a skewed clock changes who 'wins'.

Every client of a DC shares that DC's one clock (`ClockRegistry`), so a clock-skew fault moves them all at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass
class AppClock:
    skew_ms: int = 0

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.skew_ms



class ClockRegistry:
    """DC name -> the one `AppClock` its clients use. Workloads ask here instead of creating their own clocks."""

    def __init__(self) -> None:
        self._clocks: dict[str, AppClock] = {}
        self._lock = threading.Lock()

    @classmethod
    def with_skews(cls, skews_ms: Mapping[str, int]) -> ClockRegistry:
        """Clocks that start skewed per DC, e.g. an experiment's `clock_skew_ms`."""
        registry = cls()
        for dc, skew in skews_ms.items():
            registry.adjust(dc, skew)
        return registry

    def clock(self, dc: str) -> AppClock:
        with self._lock:
            return self._clocks.setdefault(dc, AppClock())

    def adjust(self, dc: str, delta_ms: int) -> int:
        """Add `delta_ms` to a DC's skew (additive, so overlapping skews heal in any order); return the new skew."""
        with self._lock:
            clock = self._clocks.setdefault(dc, AppClock())
            clock.skew_ms += int(delta_ms)
            return clock.skew_ms

    def skews(self) -> dict[str, int]:
        with self._lock:
            return {dc: clock.skew_ms for dc, clock in self._clocks.items()}
