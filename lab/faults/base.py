"""The fault protocol: `start()` injects, `heal()` undoes (idempotently), and both land in the history.

A fault is marked active *before* its injection runs, so a start that fails half-way is
still healed: every `_heal` must tolerate partial or missing state.
"""

from __future__ import annotations

import itertools
import threading
import time
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from lab.errors import LabError
from lab.faults.context import FaultContext

_ids = itertools.count(1)


class FaultError(LabError):
    """A fault could not be injected or healed; the message names the fault and the step."""


class Fault(ABC):
    """One injectable failure. Subclasses set `kind`, implement `_start`/`_heal`/`params` and `from_params`."""

    kind: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[Fault]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("kind"):
            Fault.registry[cls.kind] = cls

    def __init__(self, ctx: FaultContext) -> None:
        self.ctx = ctx
        self.id = f"{self.kind}-{next(_ids)}"
        self.active = False
        self._lock = threading.RLock()

    # --- what subclasses provide ----------------------------------------------------------
    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The fault's parameters, JSON-friendly: enough to rebuild it with `lab.faults.build`."""

    @abstractmethod
    def _start(self) -> dict[str, Any] | None:
        """Inject; return details worth recording (rules added, mechanism chosen, ...)."""

    @abstractmethod
    def _heal(self) -> dict[str, Any] | None:
        """Undo whatever `_start` did, even partially; safe to run twice."""

    @classmethod
    def from_params(cls, ctx: FaultContext, params: Any) -> Fault:  # pragma: no cover - every subclass overrides
        """The fault for parameters checked by lab.faults.params (its names are resolved here, against the lab)."""
        raise NotImplementedError

    # --- the protocol -------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {"type": self.kind, "id": self.id, **self.params()}

    def start(self) -> Fault:
        """Inject the fault. Raises FaultError if it was already started and not healed."""
        with self._lock:
            if self.active:
                raise FaultError(f"fault {self.id} is already active")
            self.active = True
            began = time.time()
            try:
                details = self._start() or {}
            except Exception as exc:
                self._record("start_failed", began, error=f"{type(exc).__name__}: {exc}")
                if isinstance(exc, LabError):
                    raise
                raise FaultError(f"fault {self.id}: start failed: {exc}") from exc
            self._record("start", began, **details)
            return self

    def heal(self) -> bool:
        """Undo the fault. Returns False when there was nothing to heal (never started, or already healed)."""
        with self._lock:
            if not self.active:
                return False
            began = time.time()
            try:
                details = self._heal() or {}
            except Exception as exc:
                self._record("heal_failed", began, error=f"{type(exc).__name__}: {exc}")
                if isinstance(exc, LabError):
                    raise
                raise FaultError(f"fault {self.id}: heal failed: {exc}") from exc
            self.active = False
            self._record("heal", began, **details)
            return True

    def _record(self, event: str, began: float, **details: Any) -> None:
        if self.ctx.history is None:
            return
        now = time.time()
        self.ctx.history.append("fault", event=event, fault=self.kind, fault_id=self.id, time=now,
                                began=began, took_s=round(now - began, 4), params=self.params(), **details)

    def __repr__(self) -> str:
        state = "active" if self.active else "idle"
        return f"<{type(self).__name__} {self.id} {state} {self.params()}>"
