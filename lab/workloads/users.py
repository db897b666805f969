"""The incident's application: one versioned table, written by guarded read-modify-writes.

    users(id BIGINT PRIMARY KEY, first_name VARCHAR(64), version BIGINT)

A read-modify-write reads `first_name` and `version`, then runs
`UPDATE users SET first_name = :value, version = :new WHERE id = :id AND <guard>` with the version
it read (lab.workloads.guards). The new version is the DC's clock in epoch milliseconds unless the
operation says otherwise (a fixed version, or the read version plus a step). Inserts and guarded
deletes complete the timeline experiments' mix.

Operation kinds (`PlannedOp.kind`):
    rmw      read, then write guarded by what was read
    read     read and remember, for a `write` later in a script (both DCs read before either writes)
    write    write guarded by this client's remembered read of the key
    insert   insert a new row (`key` None: MAX(id)+1 as this DC sees it)
    delete   read, then delete guarded by what was read
    begin    open a transaction: this client's next statements commit together (`commit`)
    commit   commit it; a write rolled back at commit is retried as `retry` says

`retry` is what the application does when the replication design rolled its write back because a
conflicting write was certified first: `none` reports the error, `reread` reads the row again and
writes guarded by what it now sees (a real optimistic-locking retry), `blind` sends the same UPDATE
again with the version it first read (a possible lost update, under a guard that lets it through).

Every record carries `value`/`version` (reads) and `value`/`read_version`/`new_version` (writes)
besides the common `changes`/`writes`/`basis`, so a history can be read row by row.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field

from lab.client import Client, Outcome
from lab.client.clock import AppClock
from lab.workloads.base import Settings, Slot, Table, Workload
from lab.workloads.keys import KeyChooser, KeySpec
from lab.workloads.plan import MixSpec, PlannedOp

KEY, VALUE, VERSION = "id", "first_name", "version"
KINDS = ("rmw", "insert", "delete")
SCRIPT_KINDS = ("read", "write", "begin", "commit")   # only in scripted steps (the incident's overlap)


class UserSettings(Settings):
    table: str = Field("users", pattern=r"^[a-z][a-z0-9_]{0,63}$")
    rows: int = Field(100, ge=0, le=10_000_000, description="rows 1..rows seeded before the traffic")
    keys: list[int] | None = Field(None, description="the seeded keys, instead of 1..rows")
    initial_value: str = "seed"
    initial_version: int | None = Field(None, description="the seeded rows' version; default: the seed DC's clock")
    operations_per_client: int = Field(20, ge=1, le=100_000, description="workload experiments: ops per client")
    key_choice: KeySpec = Field(default_factory=KeySpec)
    mix: MixSpec = Field(default_factory=MixSpec)
    retry: Literal["none", "reread", "blind"] = Field(
        "none", description="after a certification rollback: report it, re-read and write again, or resend")
    retry_attempts: int = Field(3, ge=1, le=20, description="retries of one write, at most")

    def seeded_keys(self) -> list[int]:
        return list(self.keys) if self.keys is not None else list(range(1, self.rows + 1))


class Users(Workload):
    name = "users"
    description = "the incident's versioned table: guarded read-modify-writes, inserts and guarded deletes"
    settings_model = UserSettings
    uses_guard = True
    probes = True
    operations = KINDS
    settings: UserSettings
    seed_batch: ClassVar[int] = 1000

    def __init__(self, settings: Settings, parameters: Any) -> None:
        super().__init__(settings, parameters)
        self._reads: dict[tuple[str, str], dict[str, Any]] = {}   # (client, key) -> the row a `read` returned
        self._in_transaction: dict[str, list[Attempt]] = {}      # client -> writes of its open transaction

    @property
    def table(self) -> str:
        return self.settings.table

    def tables(self) -> list[Table]:
        return [Table(self.table, f"CREATE TABLE {self.table} ({KEY} BIGINT PRIMARY KEY, "
                                  f"{VALUE} VARCHAR(64) NOT NULL, {VERSION} BIGINT NOT NULL)", (KEY,))]

    def seed_statements(self, clock: AppClock) -> list[tuple[str, list[tuple]]]:
        version = self.settings.initial_version if self.settings.initial_version is not None else clock.now_ms()
        rows = [(key, self.settings.initial_value, version) for key in self.settings.seeded_keys()]
        statement = f"INSERT INTO {self.table} ({KEY}, {VALUE}, {VERSION}) VALUES (%s, %s, %s)"
        return [(statement, rows[start:start + self.seed_batch]) for start in range(0, len(rows), self.seed_batch)]

    # --- operations ------------------------------------------------------------------------
    def plan(self, slots: list[Slot], duration: float, seed: int) -> dict[str, list[PlannedOp]]:
        """Each client's operations at random moments: kinds by the mix, keys by the key distribution."""
        rng = random.Random(f"users:{seed}")
        chooser = KeyChooser(self.settings.key_choice, max(1, len(self.settings.seeded_keys())))
        weights = [self.settings.mix.rmw, self.settings.mix.insert, self.settings.mix.delete]
        plans: dict[str, list[PlannedOp]] = {}
        index = 0
        for slot in slots:
            for at in sorted(rng.uniform(0, duration) for _ in range(self.settings.operations_per_client)):
                kind = rng.choices(KINDS, weights)[0]
                key = None if kind == "insert" else chooser.choose(rng)
                plans.setdefault(slot.client, []).append(PlannedOp(index, at, slot.dc, slot.client, kind, key))
                index += 1
        return plans

    def execute(self, client: Client, op: PlannedOp, number: int) -> None:
        value = str(op.args.get("value") or f"{op.client}-{number}")
        if op.kind == "rmw":
            self.read_modify_write(client, op.key, value, op.args.get("version"), op.args.get("version_step"))
        elif op.kind == "read":
            row = self.read(client, op.key, op="rmw")
            if row is not None:
                self._reads[(client.client_id, str(op.key))] = row
        elif op.kind == "write":
            row = self._reads.pop((client.client_id, str(op.key)), None)
            if row is not None:
                attempt = Attempt(op.key, value, row, self._new_version(client, row, op.args.get("version"),
                                                                        op.args.get("version_step")))
                outcome = self.update(client, attempt.key, attempt.value, attempt.basis, attempt.new_version)
                if client.in_transaction:
                    self._in_transaction.setdefault(client.client_id, []).append(attempt)
                else:
                    self.retry(client, attempt, outcome)
        elif op.kind == "begin":
            client.begin()
        elif op.kind == "commit":
            outcome = client.commit()
            for attempt in self._in_transaction.pop(client.client_id, []):
                self.retry(client, attempt, outcome)
        elif op.kind == "insert":
            key = op.key if op.key is not None else self.next_key(client)
            if key is not None:
                self.insert(client, key, value, op.args.get("version") or client.clock.now_ms())
        elif op.kind == "delete":
            row = self.read(client, op.key, op="delete")
            if row is not None:
                self.delete(client, op.key, row, client.clock.now_ms())
        else:
            raise ValueError(f"the users workload has no operation {op.kind!r}")

    def probe(self, client: Client, table: str, key: str, label: str = "probe") -> bool:
        """One more guarded read-modify-write of the row, with version + 1000 (a leader's next write)."""
        self.read_modify_write(client, int(key), f"{label}-{key}", version_step=1000)
        return True

    # --- statements --------------------------------------------------------------------------
    @staticmethod
    def _new_version(client: Client, row: dict[str, Any], version: int | None, step: int | None) -> int:
        if version is not None:
            return int(version)
        return int(row[VERSION]) + int(step) if step else client.clock.now_ms()

    def read(self, client: Client, key: int, op: str) -> dict[str, Any] | None:
        """The row as this DC has it (None if absent or on error); the record notes value and version seen."""

        def seen(rows: list[dict]) -> dict[str, Any]:
            first = rows[0] if rows else None
            return {"row": first, "value": first[VALUE] if first else None,
                    "version": int(first[VERSION]) if first else None}

        outcome, rows = client.run(f"SELECT {KEY}, {VALUE}, {VERSION} FROM {self.table} WHERE {KEY} = %(key)s",
                                   {"key": key}, "read", observe=seen, table=self.table, key=str(key), op=op)
        return rows[0] if rows and not outcome.error else None

    def read_modify_write(self, client: Client, key: int, value: str, version: int | None = None,
                          version_step: int | None = None) -> None:
        row = self.read(client, key, op="rmw")
        if row is not None:
            attempt = Attempt(key, value, row, self._new_version(client, row, version, version_step))
            self.retry(client, attempt, self.update(client, key, value, row, attempt.new_version))

    def retry(self, client: Client, attempt: Attempt, outcome: Outcome) -> None:
        """The retry policy, after a write the design rolled back at certification (nothing else is retried)."""
        policy = self.settings.retry
        number = 1
        while outcome.certification and policy != "none" and number <= self.settings.retry_attempts:
            client.tags.update(retry=policy, attempt=number + 1)
            try:
                basis = self.read(client, attempt.key, op="rmw") if policy == "reread" else attempt.basis
                if basis is None:
                    return
                outcome = self.update(client, attempt.key, attempt.value, basis, attempt.new_version)
            finally:
                client.tags.pop("retry", None)
                client.tags.pop("attempt", None)
            number += 1

    def update(self, client: Client, key: int, value: str, basis: dict[str, Any], new_version: int) -> Outcome:
        read_version = int(basis[VERSION])
        return client.write("update", f"UPDATE {self.table} SET {VALUE} = %(value)s, {VERSION} = %(new)s "
                               f"WHERE {client.guard.where(KEY, VERSION)}",
                     {"key": key, "value": value, "read": read_version, "new": new_version},
                     table=self.table, key={KEY: key}, op="rmw", changes={VALUE: value},
                     writes={VALUE: value, VERSION: new_version}, basis={VALUE: basis[VALUE], VERSION: read_version},
                     value=value, read_version=read_version, new_version=new_version)

    def insert(self, client: Client, key: int, value: str, version: int) -> None:
        client.write("insert", f"INSERT INTO {self.table} ({KEY}, {VALUE}, {VERSION}) "
                               "VALUES (%(key)s, %(value)s, %(new)s)",
                     {"key": key, "value": value, "new": version}, table=self.table, key={KEY: key}, op="insert",
                     changes={VALUE: value}, writes={VALUE: value, VERSION: version}, value=value,
                     new_version=version)

    def delete(self, client: Client, key: int, basis: dict[str, Any], new_version: int) -> None:
        read_version = int(basis[VERSION])
        client.write("delete", f"DELETE FROM {self.table} WHERE {client.guard.where(KEY, VERSION)}",
                     {"key": key, "read": read_version, "new": new_version}, table=self.table, key={KEY: key},
                     op="delete", changes={}, writes={}, basis={VALUE: basis[VALUE], VERSION: read_version},
                     read_version=read_version, new_version=new_version)

    def next_key(self, client: Client) -> int | None:
        """MAX(id)+1 as this DC sees it: how apps that hand out 'the next number' pick a key."""
        outcome, rows = client.select(f"SELECT COALESCE(MAX({KEY}), 0) + 1 AS next_key FROM {self.table}", {},
                                      op="insert", table=self.table)
        return int(rows[0]["next_key"]) if rows and not outcome.error else None


@dataclass(frozen=True)
class Attempt:
    """One guarded write as the application meant it: retried the same way if certification rolls it back."""

    key: int
    value: str
    basis: dict[str, Any]
    new_version: int
