"""Execute a traffic plan: one thread per client, each bound to its DC, issuing its planned operations.

Open loop by default: each operation waits for its planned time, so a slow server builds a queue
the way real traffic does. Closed loop ignores the planned times. Errors are recorded outcomes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from lab.client import Client
from lab.workloads.plan import PlannedOp


class TrafficDriver:
    """Runs each client's planned operations on its own thread; `execute` is the workload's operation code."""

    def __init__(self, plans: dict[str, list[PlannedOp]], make_client: Callable[[str, str], Client],
                 execute: Callable[[Client, PlannedOp, int], Any], *, closed_loop: bool = False) -> None:
        self.plans = plans
        self.make_client = make_client
        self.execute = execute
        self.closed_loop = closed_loop
        self.stop = threading.Event()
        self.started_at = 0.0
        self._threads: list[threading.Thread] = []

    def _run_client(self, client_id: str, operations: list[PlannedOp]) -> None:
        client = self.make_client(operations[0].dc, client_id)
        try:
            for number, op in enumerate(operations):
                if self.stop.is_set():
                    return
                if not self.closed_loop:
                    delay = self.started_at + op.at - time.monotonic()
                    if delay > 0 and self.stop.wait(delay):
                        return
                client.tags = {"planned": op.index}
                self.execute(client, op, number)
        finally:
            client.close()

    def start(self) -> None:
        self.started_at = time.monotonic()
        for client_id, operations in sorted(self.plans.items()):
            thread = threading.Thread(target=self._run_client, args=(client_id, operations),
                                      name=f"traffic-{client_id}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def halt(self) -> None:
        self.stop.set()
        self.join(timeout=60)
