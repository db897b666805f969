"""A scope that heals every fault started in it: on normal exit, on errors, on Ctrl-C and on SIGTERM.

    with FaultSet(ctx) as faults:
        cut = faults.start({"type": "partition", "between": ["dc1", "dc2"]})
        ...
        faults.heal(cut)          # optional: heal early; the rest heal at exit

SIGTERM is turned into KeyboardInterrupt for the block (lab.cleanup.sigterm_as_interrupt),
so it unwinds through `__exit__`. While healing, further SIGINT/SIGTERM are held back and
re-raised afterwards: a second Ctrl-C cannot leave a partition in place.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from types import TracebackType
from typing import Any

from lab.db.cleanup import sigterm_as_interrupt
from lab.faults.base import Fault, FaultError
from lab.faults.context import FaultContext
from lab.faults.spec import build


@contextmanager
def deferred_interrupts() -> Iterator[list[int]]:
    """Hold SIGINT/SIGTERM until the block ends, then raise KeyboardInterrupt if one came (main thread only)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def hold(signum: int, frame: object) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        raise KeyboardInterrupt(f"interrupted while healing faults (signal {received[0]})")


class FaultSet:
    """Starts faults, remembers them, and guarantees `heal()` on every one of them at exit (reverse order)."""

    def __init__(self, ctx: FaultContext | None = None) -> None:
        self.ctx = ctx
        self.started: list[Fault] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._closed = False
        self._stack = ExitStack()

    def __enter__(self) -> FaultSet:
        self._stack.enter_context(sigterm_as_interrupt())
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            errors = self.heal_all()
        finally:
            self._stack.close()
        if errors and exc_type is None:
            raise FaultError("could not heal every fault: " + "; ".join(errors))

    def start(self, fault: Fault | Mapping[str, Any]) -> Fault:
        """Start a fault (or build one from a dict first). It is registered before it starts,
        so even a start that fails half-way is healed at exit."""
        if isinstance(fault, Mapping):
            if self.ctx is None:
                raise FaultError("a FaultSet needs a FaultContext to build faults from dicts")
            fault = build(self.ctx, fault)
        with self._lock:
            if self._closed:
                raise FaultError(f"cannot start {fault.id}: the fault set is already healing")
            if fault not in self.started:
                self.started.append(fault)
        fault.start()
        return fault

    def heal(self, fault: Fault) -> bool:
        return fault.heal()

    @property
    def active(self) -> list[Fault]:
        return [fault for fault in self.started if fault.active]

    def heal_all(self, close: bool = True) -> list[str]:
        """Heal every active fault, newest first; keep going past failures and return them.
        `close` (at exit) refuses any fault started afterwards."""
        with self._lock:
            self._closed = self._closed or close
        errors: list[str] = []
        with deferred_interrupts():
            for fault in reversed(self.started):
                try:
                    fault.heal()
                except Exception as exc:
                    errors.append(f"{fault.id}: {exc}")
        self.errors.extend(errors)
        return errors
