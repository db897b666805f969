"""Application faults: per-DC clock skew of the version timestamps (what `lww` and `gte` compare)."""

from __future__ import annotations

from typing import Any

from lab.faults.base import Fault
from lab.faults.context import FaultContext
from lab.faults.params import ClockSkewParams


class ClockSkew(Fault):
    """Shift one DC's application clock by `ms` (negative: behind). Additive, so overlapping skews compose."""

    kind = "clock_skew"

    def __init__(self, ctx: FaultContext, dc: str, ms: int) -> None:
        super().__init__(ctx)
        self.dc, self.ms = ctx.dc(dc), int(ms)

    def params(self) -> dict[str, Any]:
        return {"dc": self.dc, "ms": self.ms}

    def _start(self) -> dict[str, Any]:
        return {"skew_ms": self.ctx.clocks.adjust(self.dc, self.ms)}

    def _heal(self) -> dict[str, Any]:
        return {"skew_ms": self.ctx.clocks.adjust(self.dc, -self.ms)}

    @classmethod
    def from_params(cls, ctx: FaultContext, params: ClockSkewParams) -> ClockSkew:
        return cls(ctx, params.dc, params.ms)
