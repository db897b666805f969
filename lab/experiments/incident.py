"""The incident experiment (`kind: incident`, the default): the 2019 overlap, forced cell by cell."""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import Field, model_validator

from lab.experiments.common import MATRIX_KEYS, ExperimentName, Fix, ServerMatrix, UsersExperiment, _Strict
from lab.yamlfile import FieldProblem


class Matrix(ServerMatrix):
    """`mode` is how the overlap is forced: `deterministic` holds the appliers while both DCs write (on a design
    that certifies, where appliers cannot be held, it is `txn_dc2_first`); `txn_dc2_first`: DC2 opens a
    transaction and writes, DC1 writes and commits, then DC2 commits; `txn_dc1_first` the reverse;
    `stale_read`: both read, DC1 writes, replication catches up, then DC2 writes from its stale read;
    `concurrent`: real concurrent traffic."""

    mode: list[Literal["deterministic", "concurrent", "txn_dc2_first", "txn_dc1_first", "stale_read"]] = Field(
        ["deterministic"], min_length=1)
    version_order: list[Literal["dc1_newer", "dc2_newer"]] = Field(["dc1_newer"], min_length=1)


class OverlapWrite(_Strict):
    """What one DC's application writes during the overlap, on every conflict row."""

    value: str
    version: int


class LeaderWrite(_Strict):
    row: int
    value: str
    version_increment: int = Field(1000, ge=1)


class Concurrent(_Strict):
    """Concurrent mode: both DCs write the conflict rows while replication keeps running."""

    seconds: float = Field(2.0, gt=0, le=600)
    rate_per_dc: float = Field(50.0, gt=0, description="guarded read-modify-writes per second per DC")
    clients_per_dc: int = Field(1, ge=1, le=64)
    clock_skew_ms: int = Field(50, ge=0, description="how far the newer DC's clock runs ahead")


class Scenario(_Strict):
    table: str = "users"
    initial_value: str = "John"
    initial_version: int = 1542286500000
    conflict_rows: list[int] = Field(min_length=1)
    control_rows: list[int] = Field(default_factory=list, description="rows only the leader ever writes")
    leader_updates: int = Field(3, ge=0, description="leader-only updates per control row before the overlap")
    overlap: dict[Literal["dc1", "dc2"], OverlapWrite]
    leader_after: Literal["dc1", "dc2"] = "dc1"
    leader_writes: list[LeaderWrite] = Field(default_factory=list)
    concurrent: Concurrent = Field(default_factory=Concurrent)
    retry: Literal["none", "reread", "blind"] = Field(
        "none", description="what the application does after a certification rollback (lab.workloads.users)")

    @model_validator(mode="after")
    def _rows(self) -> Scenario:
        if set(self.overlap) != {"dc1", "dc2"}:
            raise FieldProblem("overlap", "needs a write for both dc1 and dc2")
        if set(self.conflict_rows) & set(self.control_rows):
            raise FieldProblem("control_rows", "a row cannot be both a conflict row and a control row")
        for index, write in enumerate(self.leader_writes):
            if write.row not in self.conflict_rows + self.control_rows:
                raise FieldProblem(f"leader_writes.{index}.row", f"row {write.row} is not seeded",
                                   "use one of conflict_rows or control_rows")
        return self


class Experiment(UsersExperiment):
    kind: Literal["incident"] = "incident"
    name: ExperimentName
    description: str = ""
    seed: int = 1
    matrix: Matrix
    scenario: Scenario
    fix: Fix | None = None

    def cells(self) -> list[dict[str, str]]:
        """The cartesian product of the matrix, in file order."""
        values = [getattr(self.matrix, key) for key in MATRIX_KEYS]
        return [dict(zip(MATRIX_KEYS, combination, strict=True)) for combination in itertools.product(*values)]


