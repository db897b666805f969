"""What a workload declares, so that one cell, one runner and one report serve every application model.

A workload is an application that uses optimistic locking in some shape: the incident's versioned
UPDATE, unique numbers handed out by insert-retry, PUT/PATCH with `metadata.version`, a state machine.
It declares

- its tables (what the checker compares across DCs) and how to seed them,
- its operations: a seeded plan per client, and the code that runs one planned operation,
- its invariants, checked on the rows every DC holds at the end (and the history, where they need it),
- counts of its own, for the cells table.

`lab.runner.Cell` runs any workload the same way; nothing outside this package knows a workload by
name. The incident's own table is the `users` workload.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd
from pydantic import BaseModel, ConfigDict

from lab.client import Client, key_text
from lab.client.clock import AppClock
from lab.workloads.plan import PlannedOp

__all__ = ["COUNT", "Invariant", "Settings", "Slot", "Snapshot", "Table", "Violation", "Workload", "key_text"]


@dataclass(frozen=True)
class Table:
    """One table of a workload: its DDL and its primary key (what rows are matched by across DCs)."""

    name: str
    create: str
    key: tuple[str, ...]


@dataclass(frozen=True)
class Violation:
    """One broken invariant: which rule, on which DC ("*" when it takes rows of several DCs), which row."""

    invariant: str
    dc: str
    table: str
    key: str
    detail: str


@dataclass(frozen=True)
class Slot:
    """A client the cell will start: its DC and its id."""

    dc: str
    client: str


@dataclass
class Snapshot:
    """Every workload table as every DC holds it at one moment, plus the cell's operations until then.

    Invariants, counts and lost updates read only this, so they are pure functions that tests can
    feed by hand.
    """

    rows: dict[str, dict[str, pd.DataFrame]]   # dc -> table -> frame
    operations: list[dict[str, Any]]
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)   # table -> its primary key columns

    def by_key(self) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
        """dc -> (table, key text) -> row: what the lost-update rule compares writes against."""
        return {dc: {(name, key_text(row[c] for c in self.keys[name])): row
                     for name, frame in tables.items() for row in frame.to_dict("records")}
                for dc, tables in self.rows.items()}

    @property
    def dcs(self) -> list[str]:
        return list(self.rows)

    def table(self, dc: str, name: str) -> pd.DataFrame:
        return self.rows[dc][name]

    def union(self, name: str) -> pd.DataFrame:
        """The table from every DC, one frame with a `dc` column."""
        frames = [frame.assign(dc=dc) for dc, tables in self.rows.items() for table, frame in tables.items()
                  if table == name]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["dc"])

    def writes(self, op: str | None = None) -> list[dict[str, Any]]:
        """Successful writes (rows affected > 0, no error), optionally of one application operation."""
        return [r for r in self.operations if r.get("kind") in ("insert", "update", "delete")
                and not r.get("error") and (r.get("rows_affected") or 0) > 0 and (op is None or r.get("op") == op)]


@dataclass(frozen=True)
class Invariant:
    """A rule the application promises; `check` returns every violation found in a snapshot."""

    name: str
    description: str
    check: Callable[[Snapshot], list[Violation]]


class Settings(BaseModel):
    """Base of a workload's own settings (the experiment file's `workload:` block, minus `name`)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Workload:
    """Base class: a subclass with a `name` registers itself, and experiment files can then name it."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    settings_model: ClassVar[type[Settings]] = Settings
    # Matrix dimensions of its own (e.g. the ticket workload's numbering strategy): their allowed values, or
    # COUNT for any whole number >= 0. The first allowed value (0 for a COUNT) is the default.
    knobs: ClassVar[Mapping[str, tuple[str, ...] | type[int]]] = {}
    # Whether the matrix's `guard` (strict, gte, lww, none) selects how this workload's updates are guarded.
    uses_guard: ClassVar[bool] = False
    # The application operations it records (`op` in the history); lost updates are attributed to them.
    operations: ClassVar[tuple[str, ...]] = ()
    # Whether `probe` can write a diverged row once more (to tell converging rows from stuck ones).
    probes: ClassVar[bool] = False
    # The names `counts` returns: columns of cells.csv (declared so `--expect` can check them up front).
    count_columns: ClassVar[tuple[str, ...]] = ()
    registry: ClassVar[dict[str, type[Workload]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            Workload.registry[cls.name] = cls

    def __init__(self, settings: Settings, parameters: Mapping[str, str]) -> None:
        self.settings = settings
        self.parameters = dict(parameters)

    # --- schema and seed -------------------------------------------------------------------
    def tables(self) -> list[Table]:
        raise NotImplementedError

    def seed_statements(self, clock: AppClock) -> Iterable[tuple[str, list[tuple]]]:
        """(INSERT statement, rows) pairs run once on the seed DC before traffic; replication copies them.
        `clock` is the seed DC's application clock, for workloads whose rows start at "now"."""
        return []

    # --- operations ------------------------------------------------------------------------
    def plan(self, slots: list[Slot], duration: float, seed: int) -> dict[str, list[PlannedOp]]:
        """client id -> its operations in order, decided from the seed before anything runs."""
        raise NotImplementedError

    def prepare(self, client: Client) -> None:
        """Per-client session setup (e.g. per-DC auto_increment settings, from `client.dc_index`)."""

    def execute(self, client: Client, op: PlannedOp, number: int) -> None:
        raise NotImplementedError

    def probe(self, client: Client, table: str, key: str, label: str = "probe") -> bool:
        """Write this diverged row once more as the application would (values tagged with `label`);
        False if this workload cannot."""
        return False

    # --- verdicts --------------------------------------------------------------------------
    def invariants(self) -> list[Invariant]:
        return []

    def counts(self, snapshot: Snapshot) -> dict[str, int]:
        """Counts of this workload's own (the `count_columns` of cells.csv), computed from the snapshot."""
        return {}


COUNT = int  # a knob whose values are whole numbers, e.g. retries


def option(parameters: Mapping[str, str], knob: str, default: str) -> str:
    return str(parameters.get(knob, default))
