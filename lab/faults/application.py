"""Application faults: per-DC clock skew of the version timestamps (what `lww` and `gte` compare)."""

from __future__ import annotations

from typing import Any

from lab.faults.base import Fault
from lab.faults.context import FaultContext
from lab.faults.params import SpecReader


class ClockSkew(Fault):
    """Shift one DC's application clock by `ms` (negative: behind). Additive, so overlapping skews compose."""

    kind = "clock_skew"

    def __init__(self, ctx: FaultContext, dc: str, ms: int) -> None:
        super().__init__(ctx)
        if dc not in ctx.lab.topology.dcs:
            raise ctx.error("dc", f"no DC named {dc!r}", f"use one of: {', '.join(ctx.lab.topology.dcs)}")
        self.dc, self.ms = dc, int(ms)

    def params(self) -> dict[str, Any]:
        return {"dc": self.dc, "ms": self.ms}

    def _start(self) -> dict[str, Any]:
        return {"skew_ms": self.ctx.clocks.adjust(self.dc, self.ms)}

    def _heal(self) -> dict[str, Any]:
        return {"skew_ms": self.ctx.clocks.adjust(self.dc, -self.ms)}

    @classmethod
    def from_spec(cls, ctx: FaultContext, spec: Any) -> ClockSkew:
        reader = SpecReader.of(ctx, spec)
        dc = reader.get("dc", str)
        ms = reader.get("ms", int)
        reader.done()
        return cls(ctx, dc, ms)
