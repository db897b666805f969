"""The traffic-shift schedule: each DC's share of traffic over time, as in the incident's traffic graph.

100/0 until `start`, then a linear or stepped move through an overlap of `overlap` seconds, then 0/100.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ShiftSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    source: str = Field("dc1", alias="from")
    target: str = Field("dc2", alias="to")
    start: float = Field(5.0, ge=0, description="seconds of 100% on the source DC")
    overlap: float = Field(10.0, ge=0, description="seconds during which both DCs take traffic")
    shape: Literal["linear", "stepped"] = "linear"
    steps: int = Field(4, ge=1, le=100, description="stepped: number of equal steps")

    def target_share(self, t: float) -> float:
        """Fraction of traffic the target DC receives at time t (seconds since traffic start)."""
        if t < self.start:
            return 0.0
        if self.overlap == 0 or t >= self.start + self.overlap:
            return 1.0
        progress = (t - self.start) / self.overlap
        if self.shape == "stepped":
            return min(1.0, (int(progress * self.steps) + 1) / (self.steps + 1))
        return progress

    def shares(self, t: float) -> dict[str, float]:
        share = self.target_share(t)
        return {self.source: 1.0 - share, self.target: share}
