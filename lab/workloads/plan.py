"""A seeded traffic plan: the exact operations each client will issue, decided before anything runs.

The plan is a pure function of the seed and the settings, so the same seed gives the same
operation sequence per client (same kinds, same keys, same planned times) on every run.
Timing of execution can differ; the sequence cannot.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lab.workloads.keys import KeyChooser, KeySpec
from lab.workloads.shift import ShiftSpec
from lab.yamlfile import FieldProblem

OpKind = Literal["rmw", "insert", "delete"]


class MixSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    rmw: float = Field(1.0, ge=0, description="guarded read-modify-write")
    insert: float = Field(0.0, ge=0)
    delete: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _positive(self) -> MixSpec:
        if self.rmw + self.insert + self.delete <= 0:
            raise FieldProblem("rmw", "the operation mix needs at least one positive weight")
        return self


class TrafficSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    table: str = "users"
    rows: int = Field(100, ge=1, le=10_000_000, description="rows seeded before traffic starts")
    duration: float = Field(20.0, gt=0, le=3600, description="seconds of traffic")
    rate: float = Field(100.0, ge=0, description="planned operations per second, all DCs together")
    closed_loop: bool = Field(False, description="issue each client's next operation as soon as the last ends")
    clients_per_dc: int = Field(2, ge=1, le=256)
    keys: KeySpec = Field(default_factory=KeySpec)
    mix: MixSpec = Field(default_factory=MixSpec)
    insert_keys: Literal["fresh", "next"] = Field(
        "fresh", description="fresh: unique planned keys; next: MAX(key)+1 read on the local DC, as apps that "
                             "hand out 'the next number' do (collides across DCs during an overlap)")
    shift: ShiftSpec = Field(default_factory=ShiftSpec)


@dataclass(frozen=True)
class PlannedOp:
    """One operation a client will issue. Workloads name their own kinds and put their inputs in `args`."""

    index: int          # position in the global stream
    at: float           # planned seconds since traffic start
    dc: str
    client: str
    kind: str           # rmw | insert | delete here; a workload's own operation names elsewhere
    key: Any            # None: an insert of "the next key", decided on the server at run time
    args: dict[str, Any] = field(default_factory=dict)


def plan(spec: TrafficSpec, seed: int) -> dict[str, list[PlannedOp]]:
    """client id -> its operations, in order. New keys for inserts come after the seeded rows."""
    rng = random.Random(f"traffic:{seed}")
    chooser = KeyChooser(spec.keys, spec.rows)
    kinds: list[OpKind] = ["rmw", "insert", "delete"]
    weights = [spec.mix.rmw, spec.mix.insert, spec.mix.delete]
    total = max(1, int(spec.duration * spec.rate))
    next_new_key = spec.rows + 1
    round_robin: dict[str, int] = {}
    result: dict[str, list[PlannedOp]] = {}
    for index in range(total):
        at = index / spec.rate if spec.rate else 0.0
        shares = spec.shift.shares(at)
        dc = spec.shift.target if rng.random() < shares[spec.shift.target] else spec.shift.source
        slot = round_robin.get(dc, 0)
        round_robin[dc] = slot + 1
        client = f"{dc}-c{slot % spec.clients_per_dc}"
        kind = rng.choices(kinds, weights)[0]
        if kind == "insert" and spec.insert_keys == "next":
            key = None
        elif kind == "insert":
            key, next_new_key = next_new_key, next_new_key + 1
        else:
            key = chooser.choose(rng)
        result.setdefault(client, []).append(PlannedOp(index, at, dc, client, kind, key))
    return result
