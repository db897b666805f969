"""Sample divergence and replication state at a fixed interval while a cell runs.

Nothing here may block the run: link status uses short timeouts (a paused or crashed server reads
as 'unreachable'), and a divergence comparison that is still running is not started again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pandas as pd

from lab.db.lab import Lab
from lab.db.sql import query


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

    def _link_states(self) -> list[dict[str, Any]]:
        states = []
        for link in self.lab.topology.links:
            replica = self.lab.servers[link.replica]
            row: dict[str, Any] = {"link": f"{link.source}->{link.replica}"}
            try:
                with replica.connect(timeout=1.0, read_timeout=2.0) as connection:
                    found = query(connection, replica.dialect.replica_status())
                status = replica.dialect.parse_link_status(found[0]) if found else None
                if status is None:
                    row.update(io="none", sql="none")
                else:
                    row.update(io=status.io_running, sql=status.sql_running, lag_s=status.seconds_behind,
                               last_sql_errno=status.last_sql_errno, last_io_errno=status.last_io_errno,
                               last_sql_error=status.last_sql_error[:300], last_io_error=status.last_io_error[:300])
            except Exception:  # a paused, crashed or partitioned server is a state, not a failure
                row.update(io="unreachable", sql="unreachable")
            states.append(row)
        return states

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
        for state in self._link_states():
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
