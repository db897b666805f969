"""An order state machine and product variants: two operators act on the same thing at once.

Orders start `pending`. One operator cancels (pending -> cancelled), and once the cancel is applied
the refund starts (a row in `refunds`, written by the cancelling DC after it re-read the order as
cancelled). Another operator approves (pending -> approved). Promise: an order whose refund has
started is never approved.

Products have a colour and a size, and only the combinations in `variants` exist; there is no green
size-M T-shirt. One operator changes the colour, another the size, each checking that the result
exists with the other attribute as it read it. Promise: every product is an existing variant.

Every transition validates on the state it read, then writes guarded by the version it read (the
`guard` of the matrix). With `validation: sql` the UPDATE also repeats the validated condition in its
WHERE (`AND state = 'pending'`, `AND size = :size read`), so a replayed statement re-checks it.
A rejected write (0 rows) is retried up to `retries` times: re-read, re-validate, write again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import Field

from lab.client import AppClock, Client
from lab.workloads.base import COUNT, Invariant, Settings, Slot, Snapshot, Table, Violation, Workload, option
from lab.workloads.plan import PlannedOp

SEED_VERSION = 1542286500000
COLOURS = ("red", "green", "blue")
SIZES = ("S", "M", "L")
VARIANTS = (("red", "S"), ("red", "M"), ("red", "L"), ("green", "S"), ("green", "L"),
            ("blue", "S"), ("blue", "M"))   # no green M
TRANSITIONS = {"approve": ("pending", "approved", "approved_by"), "cancel": ("pending", "cancelled", "cancelled_by")}


@dataclass(frozen=True)
class Decision:
    """What a validated operation writes: the columns it sets, what the operator meant to change, and the
    validated condition (repeated in the UPDATE's WHERE with `validation: sql`)."""

    assignments: dict[str, Any]
    changes: dict[str, Any]
    condition: str
    condition_params: dict[str, Any]


class OrderSettings(Settings):
    orders: int = Field(12, ge=0, le=100_000, description="orders that two operators act on at once")
    products: int = Field(12, ge=0, le=100_000, description="products whose colour and size change at once")
    think_ms: int = Field(40, ge=0, le=10_000, description="between reading and writing")


class Orders(Workload):
    name = "orders"
    description = "cancel+refund vs approve on one order; colour vs size on one product"
    settings_model = OrderSettings
    knobs: ClassVar = {"validation": ("app", "sql"), "retries": COUNT}
    uses_guard = True
    operations = ("approve", "cancel", "refund", "recolour", "resize")
    count_columns = ("transitions_applied", "transitions_rejected", "refused_by_validation", "retried_attempts",
                     "refunds_started")
    settings: OrderSettings

    @property
    def retries(self) -> int:
        return int(option(self.parameters, "retries", "0"))

    @property
    def validate_in_sql(self) -> bool:
        return option(self.parameters, "validation", "app") == "sql"

    def tables(self) -> list[Table]:
        return [
            Table("orders", "CREATE TABLE orders (id BIGINT PRIMARY KEY, state VARCHAR(16) NOT NULL, "
                            "approved_by VARCHAR(32) NULL, cancelled_by VARCHAR(32) NULL, version BIGINT NOT NULL)",
                  ("id",)),
            Table("refunds", "CREATE TABLE refunds (order_id BIGINT PRIMARY KEY, started_by VARCHAR(32) NOT NULL, "
                             "dc VARCHAR(16) NOT NULL)", ("order_id",)),
            Table("products", "CREATE TABLE products (id BIGINT PRIMARY KEY, colour VARCHAR(16) NOT NULL, "
                              "size VARCHAR(4) NOT NULL, changed_by VARCHAR(32) NULL, version BIGINT NOT NULL)",
                  ("id",)),
            Table("variants", "CREATE TABLE variants (colour VARCHAR(16) NOT NULL, size VARCHAR(4) NOT NULL, "
                              "PRIMARY KEY (colour, size))", ("colour", "size")),
        ]

    def seed_statements(self, clock: AppClock) -> list[tuple[str, list[tuple]]]:
        orders = [(key, "pending", SEED_VERSION) for key in range(1, self.settings.orders + 1)]
        products = [(key, "red", "S", SEED_VERSION) for key in range(1, self.settings.products + 1)]
        return [("INSERT INTO variants (colour, size) VALUES (%s, %s)", list(VARIANTS)),
                ("INSERT INTO orders (id, state, version) VALUES (%s, %s, %s)", orders),
                ("INSERT INTO products (id, colour, size, version) VALUES (%s, %s, %s, %s)", products)]

    # --- operations ------------------------------------------------------------------------
    def plan(self, slots: list[Slot], duration: float, seed: int) -> dict[str, list[PlannedOp]]:
        """Pairs of operations at the same planned time, by neighbouring slots (different DCs unless single_dc)."""
        rng = random.Random(f"orders:{seed}")
        pairs = [("orders", key, ("cancel", "approve")) for key in range(1, self.settings.orders + 1)]
        pairs += [("products", key, ("recolour", "resize")) for key in range(1, self.settings.products + 1)]
        rng.shuffle(pairs)
        plans: dict[str, list[PlannedOp]] = {}
        index = 0
        for number, (_table, key, kinds) in enumerate(pairs):
            at = duration * number / max(1, len(pairs))
            first, second = slots[(2 * number) % len(slots)], slots[(2 * number + 1) % len(slots)]
            ordered = kinds if rng.random() < 0.5 else kinds[::-1]
            for slot, kind in zip((first, second), ordered, strict=True):
                plans.setdefault(slot.client, []).append(PlannedOp(index, at, slot.dc, slot.client, kind, key))
                index += 1
        return plans

    def execute(self, client: Client, op: PlannedOp, number: int) -> None:
        operator = f"{op.client}-{number}"
        if op.kind in TRANSITIONS:
            applied = self.transition(client, op.key, op.kind, operator)
            if applied and op.kind == "cancel":
                self.start_refund(client, op.key, operator)
        else:
            self.edit_product(client, op.key, op.kind, operator)

    def _attempts(self) -> range:
        return range(self.retries + 1)

    def _new_version(self, client: Client, read: int) -> int:
        return max(client.clock.now_ms(), read + 1)

    def _guarded(self, client: Client, extra: str) -> str:
        where = client.guard.where("id", "version") if client.guard else "id = %(key)s"
        return where + (f" AND {extra}" if self.validate_in_sql else "")

    def act(self, client: Client, table: str, key: int, kind: str,
            decide: Callable[[dict[str, Any]], Decision | None], basis: tuple[str, ...]) -> bool:
        """Read, validate (`decide`), think, write guarded; on 0 rows retry from the read, up to `retries` times."""
        for attempt in self._attempts():
            _, row = client.read_row(table, {"id": key}, op=kind)
            if row is None:
                return False
            decision = decide(row)
            if decision is None:
                client.note(kind, "refused", table=table, key=key, attempt=attempt,
                            **{c: row[c] for c in basis if c != "version"})
                return False
            time.sleep(self.settings.think_ms / 1000)
            read = int(row["version"])
            new = self._new_version(client, read)
            assignments = ", ".join(f"{column} = %(set_{column})s" for column in decision.assignments)
            outcome = client.write(
                "update", f"UPDATE {table} SET {assignments}, version = %(new)s "
                          f"WHERE {self._guarded(client, decision.condition)}",
                {**{f"set_{c}": v for c, v in decision.assignments.items()}, **decision.condition_params,
                 "key": key, "read": read, "new": new},
                table=table, key={"id": key}, op=kind, changes=decision.changes,
                writes={**decision.assignments, "version": new}, basis={c: row[c] for c in basis},
                attempt=attempt, read_version=read, new_version=new)
            if (outcome.rows_affected or 0) > 0:
                return True
            if outcome.error:
                return False
        return False

    def transition(self, client: Client, key: int, kind: str, operator: str) -> bool:
        allowed_from, target, actor = TRANSITIONS[kind]

        def decide(row: dict[str, Any]) -> Decision | None:
            if row["state"] != allowed_from:
                return None
            return Decision({"state": target, actor: operator}, {"state": target, actor: operator},
                            "state = %(from)s", {"from": allowed_from})

        return self.act(client, "orders", key, kind, decide, ("state", "approved_by", "cancelled_by", "version"))

    def start_refund(self, client: Client, key: int, operator: str) -> None:
        """The refund worker of the cancelling DC: only for an order it reads as cancelled."""
        _, row = client.read_row("orders", {"id": key}, op="refund")
        if row is None or row["state"] != "cancelled":
            client.note("refund", "refused", table="refunds", key=key, state=None if row is None else row["state"])
            return
        client.write("insert", "INSERT INTO refunds (order_id, started_by, dc) VALUES (%(key)s, %(operator)s, %(dc)s)",
                     {"key": key, "operator": operator, "dc": client.dc}, table="refunds", key={"order_id": key},
                     op="refund", changes={"started_by": operator})

    def edit_product(self, client: Client, key: int, kind: str, operator: str) -> bool:
        """Change the colour (keeping the size read) or the size (keeping the colour read) to an existing variant."""
        changed, kept = ("colour", "size") if kind == "recolour" else ("size", "colour")

        def decide(row: dict[str, Any]) -> Decision | None:
            choice = self._pick(changed, kept, row)
            if choice is None:
                return None
            return Decision({changed: choice, "changed_by": operator}, {changed: choice},
                            f"{kept} = %(kept)s", {"kept": row[kept]})

        return self.act(client, "products", key, kind, decide, ("colour", "size", "changed_by", "version"))

    @staticmethod
    def _pick(changed: str, kept: str, row: dict[str, Any]) -> str | None:
        """The first other value of `changed` that makes an existing variant with `kept` as read."""
        values = COLOURS if changed == "colour" else SIZES
        for value in values:
            if value == row[changed]:
                continue
            variant = (value, row[kept]) if changed == "colour" else (row[kept], value)
            if variant in VARIANTS:
                return value
        return None

    # --- verdicts --------------------------------------------------------------------------
    def invariants(self) -> list[Invariant]:
        return [
            Invariant("approved_after_refund", "an order whose refund has started is never approved",
                      approved_with_refund),
            Invariant("impossible_variant", "every product is a colour/size combination that exists",
                      impossible_variants),
        ]

    def counts(self, snapshot: Snapshot) -> dict[str, int]:
        transitions = [r for r in snapshot.operations if r.get("kind") == "update" and not r.get("error")]
        return {
            "transitions_applied": sum(1 for r in transitions if (r.get("rows_affected") or 0) > 0),
            "transitions_rejected": sum(1 for r in transitions if r.get("rows_affected") == 0),
            "refused_by_validation": sum(1 for r in snapshot.operations if r.get("outcome") == "refused"),
            # a retry re-reads and ends in another write or in a refusal; both record their attempt number
            "retried_attempts": sum(1 for r in snapshot.operations if r.get("kind") in ("update", "app")
                                    and (r.get("attempt") or 0) > 0),
            "refunds_started": len(snapshot.writes("refund")),
        }


def approved_with_refund(snapshot: Snapshot) -> list[Violation]:
    """On each DC: orders that have a refund row and are approved."""
    found = []
    for dc in snapshot.dcs:
        refunded = {int(k) for k in snapshot.table(dc, "refunds")["order_id"]}
        for row in snapshot.table(dc, "orders").to_dict("records"):
            if int(row["id"]) in refunded and row["state"] == "approved":
                found.append(Violation("approved_after_refund", dc, "orders", str(row["id"]),
                                       f"refund started, state approved (approved_by {row['approved_by']}, "
                                       f"cancelled_by {row['cancelled_by']})"))
    return found


def impossible_variants(snapshot: Snapshot) -> list[Violation]:
    """On each DC: products whose colour and size are not a variant listed in that DC's `variants`."""
    found = []
    for dc in snapshot.dcs:
        variants = {(str(r["colour"]), str(r["size"])) for r in snapshot.table(dc, "variants").to_dict("records")}
        for row in snapshot.table(dc, "products").to_dict("records"):
            if (str(row["colour"]), str(row["size"])) not in variants:
                found.append(Violation("impossible_variant", dc, "products", str(row["id"]),
                                       f"{row['colour']} size {row['size']} does not exist"))
    return found
