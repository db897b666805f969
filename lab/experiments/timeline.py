"""Timeline experiments (`kind: timeline`): traffic that shifts between DCs, with faults at given times."""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import Field, model_validator

from lab.experiments.common import (
    ExperimentName,
    Fix,
    ServerMatrix,
    TimelineEntry,
    UsersExperiment,
    check_clocks,
    check_timeline,
)
from lab.workloads.plan import TrafficSpec


class TimelineExperiment(UsersExperiment):
    """Traffic that shifts between DCs, with faults at given times: the incident as it happens in production."""

    kind: Literal["timeline"]
    name: ExperimentName
    description: str = ""
    seed: int = 1
    matrix: ServerMatrix
    traffic: TrafficSpec
    clock_skew_ms: dict[str, int] = Field(default_factory=dict, description="per-DC application clock skew")
    timeline: list[TimelineEntry] = Field(default_factory=list)
    sample_interval: float = Field(1.0, gt=0, le=60)
    fix: Fix | None = None

    @model_validator(mode="after")
    def _names(self) -> TimelineExperiment:
        check_timeline(self.timeline, self.matrix.topology)
        check_clocks(self.clock_skew_ms, self.matrix.topology)
        return self

    def cells(self) -> list[dict[str, str]]:
        keys = ("topology", "binlog_format", "guard", "flavor")
        values = [getattr(self.matrix, key) for key in keys]
        return [{**dict(zip(keys, combination, strict=True)), "mode": "timeline", "version_order": "-"}
                for combination in itertools.product(*values)]


