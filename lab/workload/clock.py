"""Per-DC application clocks. Versions are epoch milliseconds, so a skewed clock changes who 'wins'."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class AppClock:
    skew_ms: int = 0

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.skew_ms
