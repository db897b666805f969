"""Sample divergence and replication state at a fixed interval while a cell runs.

Replication state is whatever the lab's design reports (lab.db.designs): one row per link (receiver,
applier, lag, errors, semi-sync status and wait counts) or per member (group member state and role,
Galera node state, cluster status and size). Nothing here may block the run: the design reads with
short timeouts (a paused or crashed server reads as 'unreachable'), and a divergence comparison that
is still running is not started again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pandas as pd

from lab.db.lab import Lab


class Sampler:
    def __init__(self, lab: Lab, count_diverged: Callable[[], int], *, interval: float,
                 shares: Callable[[float], dict[str, float]], active_faults: Callable[[], list[str]],
                 phase: Callable[[], str]) -> None:
        self.lab, self.count_diverged, self.interval = lab, count_diverged, interval
        self.shares, self.active_faults, self.phase = shares, active_faults, phase
        self.rows: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._compare_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sampler-compare")
        self._pending: Future[int] | None = None
        self._last_diverged: float = float("nan")
        self.t0 = 0.0

    def _diverged(self) -> float:
        if self._pending is not None and self._pending.done():
            try:
                self._last_diverged = float(self._pending.result())
            except Exception:
                self._last_diverged = float("nan")
            self._pending = None
        if self._pending is None:
            self._pending = self._compare_pool.submit(self.count_diverged)
        return self._last_diverged

    def sample(self) -> None:
        now = time.time()
        t = time.monotonic() - self.t0
        diverged = self._diverged()
        shares = self.shares(t)
        faults = ",".join(self.active_faults())
        for state in self.lab.design.sample(self.lab):   # links, group members or cluster nodes
            self.rows.append({"time": now, "t": round(t, 3), "phase": self.phase(), "diverged_rows": diverged,
                              **{f"share_{dc}": share for dc, share in shares.items()},
                              "active_faults": faults, **state})

    def _loop(self) -> None:
        while not self._stop.wait(max(0.0, self.interval - (time.monotonic() - self.t0) % self.interval)):
            self.sample()

    def start(self, t0: float) -> None:
        self.t0 = t0
        self._thread = threading.Thread(target=self._loop, name="sampler", daemon=True)
        self._thread.start()

    def stop(self) -> pd.DataFrame:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        self._compare_pool.shutdown(wait=True, cancel_futures=True)
        return pd.DataFrame(self.rows)
