"""Key distributions for generated traffic: uniform, zipfian, or a hot set. Pure and seeded."""

from __future__ import annotations

import bisect
import itertools
import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class KeySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    distribution: Literal["uniform", "zipfian", "hot_set"] = "uniform"
    exponent: float = Field(1.1, gt=0, description="zipfian skew; higher means hotter head")
    hot_fraction: float = Field(0.05, gt=0, le=1, description="hot_set: share of keys that are hot")
    hot_probability: float = Field(0.9, ge=0, le=1, description="hot_set: chance an operation hits a hot key")


class KeyChooser:
    """Draws keys 1..rows with the chosen distribution, from a caller-supplied random source."""

    def __init__(self, spec: KeySpec, rows: int) -> None:
        self.spec, self.rows = spec, rows
        if spec.distribution == "zipfian":
            weights = [1.0 / (rank ** spec.exponent) for rank in range(1, rows + 1)]
            self._cumulative = list(itertools.accumulate(weights))
        self._hot = max(1, int(rows * spec.hot_fraction))

    def choose(self, rng: random.Random) -> int:
        if self.spec.distribution == "uniform":
            return rng.randint(1, self.rows)
        if self.spec.distribution == "zipfian":
            point = rng.random() * self._cumulative[-1]
            return bisect.bisect_left(self._cumulative, point) + 1
        if rng.random() < self.spec.hot_probability or self._hot >= self.rows:
            return rng.randint(1, self._hot)
        return rng.randint(self._hot + 1, self.rows)
