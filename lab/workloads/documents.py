"""PUT and PATCH on entities that carry `metadata.version` (plus `createdAt` and `modifiedAt`).

A REST API over one table. Every write bumps the version: by 1 (`versions: counter`, starting at 1)
or to the writer's clock in epoch milliseconds (`versions: timestamp`).

    PUT                     GET the entity, edit one field, send the whole document with the version read;
                            UPDATE all fields WHERE id AND <guard on that version>. 0 rows = 409 Conflict.
    PATCH with version      send one field and the version read; UPDATE that field WHERE id AND <guard>.
    PATCH without version   the lock is skipped: the server loads the entity, merges the field and saves
                            the whole entity with version = loaded + 1 (or its clock), WHERE id only.

The `requests` knob chooses the mix: `put_only`, or half PUTs and half PATCHes `patch_with_version` /
`patch_without_version`. Each write sets its field to a token unique to that request, so the history
tells exactly which change a row holds and which vanished.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from typing import Any, ClassVar

from pydantic import Field

from lab.client import AppClock, Client
from lab.workloads.base import Invariant, Settings, Slot, Snapshot, Table, Violation, Workload, option
from lab.workloads.plan import PlannedOp

FIELDS = ("name", "email", "plan")
CONTENT = FIELDS
SEED_TIME = "2018-11-15 12:55:00.000"
SEED_EPOCH_MS = 1542286500000


class DocumentSettings(Settings):
    entities: int = Field(4, ge=1, le=100_000, description="entities every client writes (few: they conflict)")
    requests_per_client: int = Field(20, ge=1, le=100_000)
    think_ms: int = Field(100, ge=0, le=10_000, description="between loading the entity and writing it")


def _timestamp(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch_ms / 1000)) + f".{epoch_ms % 1000:03d}"


class Documents(Workload):
    name = "documents"
    description = "PUT (whole document, version checked) and PATCH (one field, version optional)"
    settings_model = DocumentSettings
    knobs: ClassVar = {"versions": ("counter", "timestamp"),
                       "requests": ("put_only", "patch_with_version", "patch_without_version")}
    uses_guard = True
    probes = True
    operations = ("put", "patch", "patch_no_version")
    count_columns = ("puts", "patches", "conflicts_409", "version_collisions")
    settings: DocumentSettings

    @property
    def versions(self) -> str:
        return option(self.parameters, "versions", "counter")

    def tables(self) -> list[Table]:
        return [Table("entities", "CREATE TABLE entities (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL, "
                                  "email VARCHAR(64) NOT NULL, plan VARCHAR(64) NOT NULL, version BIGINT NOT NULL, "
                                  "created_at DATETIME(3) NOT NULL, modified_at DATETIME(3) NOT NULL)", ("id",))]

    def initial_version(self) -> int:
        return 1 if self.versions == "counter" else SEED_EPOCH_MS

    def seed_statements(self, clock: AppClock) -> list[tuple[str, list[tuple]]]:
        rows = [(key, f"name-{key}", f"user{key}@example.com", "free", self.initial_version(), SEED_TIME, SEED_TIME)
                for key in range(1, self.settings.entities + 1)]
        return [("INSERT INTO entities (id, name, email, plan, version, created_at, modified_at) "
                 "VALUES (%s, %s, %s, %s, %s, %s, %s)", rows)]

    # --- operations ------------------------------------------------------------------------
    def plan(self, slots: list[Slot], duration: float, seed: int) -> dict[str, list[PlannedOp]]:
        rng = random.Random(f"documents:{seed}")
        requests = option(self.parameters, "requests", "put_only")
        plans: dict[str, list[PlannedOp]] = {}
        index = 0
        for slot in slots:  # requests arrive at random moments, so clients' requests overlap as real ones do
            for at in sorted(rng.uniform(0, duration) for _ in range(self.settings.requests_per_client)):
                if requests == "put_only" or rng.random() < 0.5:
                    kind = "put"
                else:
                    kind = "patch" if requests == "patch_with_version" else "patch_no_version"
                key = rng.randint(1, self.settings.entities)
                plans.setdefault(slot.client, []).append(
                    PlannedOp(index, at, slot.dc, slot.client, kind, key, {"field": rng.choice(FIELDS)}))
                index += 1
        return plans

    def new_version(self, client: Client, read: int) -> int:
        if self.versions == "counter":
            return read + 1
        return client.clock.now_ms()

    def execute(self, client: Client, op: PlannedOp, number: int) -> None:
        field, token = op.args["field"], f"{op.client}-{number}"
        _, loaded = client.read_row("entities", {"id": op.key}, op=op.kind)
        if loaded is None:
            return
        time.sleep(self.settings.think_ms / 1000)
        if op.kind == "patch":
            self.patch(client, op.key, field, token, loaded)
        else:
            self.save(client, op.key, {**loaded, field: token}, {field: token}, loaded,
                      guarded=op.kind == "put", op=op.kind)

    def save(self, client: Client, key: Any, document: dict[str, Any], changes: dict[str, Any],
             basis: dict[str, Any], *, guarded: bool, op: str) -> bool:
        """Write the whole document: a PUT (guarded) or the save of an unversioned PATCH (not guarded)."""
        read = int(basis["version"])
        new = self.new_version(client, read)
        where = client.guard.where("id", "version") if guarded and client.guard else "id = %(key)s"
        writes = {**{f: document[f] for f in FIELDS}, "version": new}
        outcome = client.write(
            "update", f"UPDATE entities SET name = %(name)s, email = %(email)s, plan = %(plan)s, "
                      f"version = %(new)s, modified_at = %(now)s WHERE {where}",
            {**writes, "key": key, "read": read, "new": new, "now": _timestamp(client.clock.now_ms())},
            table="entities", key={"id": key}, op=op, changes=changes, writes=writes,
            basis={f: basis[f] for f in (*FIELDS, "version")}, read_version=read, new_version=new)
        return (outcome.rows_affected or 0) > 0

    def patch(self, client: Client, key: Any, field: str, token: str, loaded: dict[str, Any]) -> bool:
        """A PATCH that sends the version it read: only the field is written, under the guard."""
        read = int(loaded["version"])
        new = self.new_version(client, read)
        where = client.guard.where("id", "version") if client.guard else "id = %(key)s"
        outcome = client.write(
            "update", f"UPDATE entities SET {field} = %(value)s, version = %(new)s, modified_at = %(now)s "
                      f"WHERE {where}",
            {"value": token, "key": key, "read": read, "new": new, "now": _timestamp(client.clock.now_ms())},
            table="entities", key={"id": key}, op="patch", changes={field: token},
            writes={field: token, "version": new}, basis={f: loaded[f] for f in (*FIELDS, "version")},
            read_version=read, new_version=new)
        return (outcome.rows_affected or 0) > 0

    def probe(self, client: Client, table: str, key: str, label: str = "probe") -> bool:
        _, loaded = client.read_row(table, {"id": int(key)}, op="put")
        if loaded is None:
            return False
        token = f"{label}-{key}"
        self.save(client, int(key), {**loaded, "name": token}, {"name": token}, loaded, guarded=True, op="put")
        return True  # written under the cell's guard, whether or not it matched

    # --- verdicts --------------------------------------------------------------------------
    def invariants(self) -> list[Invariant]:
        return [Invariant("version_identifies_content",
                          "two DCs holding the same version of an entity hold the same content",
                          same_version_same_content)]

    def counts(self, snapshot: Snapshot) -> dict[str, int]:
        writes = [r for r in snapshot.operations if r.get("kind") == "update" and not r.get("error")]
        return {
            "puts": sum(1 for r in writes if r.get("op") == "put"),
            "patches": sum(1 for r in writes if r.get("op") in ("patch", "patch_no_version")),
            "conflicts_409": sum(1 for r in writes if r.get("op") in ("put", "patch") and r.get("rows_affected") == 0),
            "version_collisions": len(version_collisions(snapshot)),
        }


def version_collisions(snapshot: Snapshot) -> list[tuple[str, int]]:
    """(key, version) pairs that two successful writes produced with different content (from the history)."""
    contents: dict[tuple[str, int], set[tuple]] = defaultdict(set)
    for write in snapshot.writes():
        if write.get("table") == "entities" and write.get("new_version") is not None:
            written = write.get("writes") or {}
            basis = write.get("basis") or {}
            content = tuple(written.get(f, basis.get(f)) for f in CONTENT)
            contents[(str(write["key"]), int(write["new_version"]))].add(content)
    return sorted(pair for pair, seen in contents.items() if len(seen) > 1)


def same_version_same_content(snapshot: Snapshot) -> list[Violation]:
    """Entities that two DCs hold at the same version with different content (from the rows)."""
    by_key: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for dc in snapshot.dcs:
        for row in snapshot.table(dc, "entities").to_dict("records"):
            by_key[str(row["id"])][dc] = row
    found = []
    for key, rows in sorted(by_key.items(), key=lambda item: int(item[0])):
        by_version: dict[int, dict[tuple, list[str]]] = defaultdict(lambda: defaultdict(list))
        for dc, row in rows.items():
            by_version[int(row["version"])][tuple(row[f] for f in CONTENT)].append(dc)
        for version, contents in sorted(by_version.items()):
            if len(contents) > 1:
                shown = "; ".join(f"{'+'.join(dcs)}: {'/'.join(str(v) for v in content)}"
                                  for content, dcs in sorted(contents.items(), key=lambda item: item[1]))
                found.append(Violation("version_identifies_content", "*", "entities", key,
                                       f"version {version} with different content: {shown}"))
    return found
