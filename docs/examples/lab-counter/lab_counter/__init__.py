"""Page-view counters: each request reads a counter and writes `hits + 1` under the experiment's guard.

An example of a workload that lives in its own package. The `lab.workloads` entry point in
pyproject.toml names this module; `lab run` imports it, and the class below registers itself
under `counter`, so an experiment file can say `workload: {name: counter}`.

The invariant is the application's promise: on every DC, a counter holds exactly as many hits as
increments succeeded anywhere. A lost update breaks it.
"""

from __future__ import annotations

import random
from collections import Counter as Tally
from typing import ClassVar

from pydantic import Field

from lab.client import AppClock, Client
from lab.workloads.base import Invariant, Settings, Slot, Snapshot, Table, Violation, Workload
from lab.workloads.plan import PlannedOp


class CounterSettings(Settings):
    counters: int = Field(2, ge=1, le=10_000, description="counters every client increments (few: they conflict)")
    increments_per_client: int = Field(10, ge=1, le=100_000)


class PageViews(Workload):
    name = "counter"
    description = "page-view counters: read hits, write hits + 1 under the guard"
    settings_model = CounterSettings
    uses_guard = True
    operations: ClassVar = ("increment",)
    count_columns: ClassVar = ("increments", "conflicts")
    settings: CounterSettings

    def tables(self) -> list[Table]:
        return [Table("counters", "CREATE TABLE counters (id INT PRIMARY KEY, hits BIGINT NOT NULL, "
                                  "version BIGINT NOT NULL)", ("id",))]

    def seed_statements(self, clock: AppClock) -> list[tuple[str, list[tuple]]]:
        rows = [(key,) for key in range(1, self.settings.counters + 1)]
        return [("INSERT INTO counters (id, hits, version) VALUES (%s, 0, 1)", rows)]

    def plan(self, slots: list[Slot], duration: float, seed: int) -> dict[str, list[PlannedOp]]:
        rng = random.Random(f"counter:{seed}")
        plans: dict[str, list[PlannedOp]] = {}
        index = 0
        for slot in slots:
            for at in sorted(rng.uniform(0, duration) for _ in range(self.settings.increments_per_client)):
                key = rng.randint(1, self.settings.counters)
                plans.setdefault(slot.client, []).append(PlannedOp(index, at, slot.dc, slot.client, "increment", key))
                index += 1
        return plans

    def execute(self, client: Client, op: PlannedOp, number: int) -> None:
        _, row = client.read_row("counters", {"id": op.key}, op="increment")
        if row is None:
            return
        read, hits = int(row["version"]), int(row["hits"]) + 1
        where = client.guard.where("id", "version") if client.guard else "id = %(key)s"
        client.write("update", f"UPDATE counters SET hits = %(hits)s, version = %(new)s WHERE {where}",
                     {"hits": hits, "key": op.key, "read": read, "new": read + 1},
                     table="counters", key={"id": op.key}, op="increment", changes={"hits": hits},
                     basis={"hits": hits - 1, "version": read}, read_version=read, new_version=read + 1)

    def invariants(self) -> list[Invariant]:
        return [Invariant("every_increment_counted",
                          "on every DC, a counter's hits equal the increments that succeeded anywhere", counted)]

    def counts(self, snapshot: Snapshot) -> dict[str, int]:
        updates = [r for r in snapshot.operations if r.get("kind") == "update" and not r.get("error")]
        return {"increments": len(snapshot.writes("increment")),
                "conflicts": sum(1 for r in updates if r.get("rows_affected") == 0)}


def counted(snapshot: Snapshot) -> list[Violation]:
    succeeded = Tally(str(write["key"]) for write in snapshot.writes("increment"))
    found = []
    for dc in snapshot.dcs:
        for row in snapshot.table(dc, "counters").to_dict("records"):
            key, hits = str(row["id"]), int(row["hits"])
            if hits != succeeded[key]:
                found.append(Violation("every_increment_counted", dc, "counters", key,
                                       f"{hits} hits, {succeeded[key]} increments succeeded"))
    return found
