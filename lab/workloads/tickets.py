"""Unique, consecutive ticket numbers handed out by insert-retry (an online raffle shop).

Products hold 1, 3 or 5 tickets (A, B, C), so an order of 4xA + 1xB + 3xC needs 22 numbers. For each
ticket the application claims a number by inserting it into `ticket_numbers`, whose primary key is
the number; a duplicate-key error (1062) means someone else has it, so it takes a new number and
tries again. The ticket row then references the number. The primary key is the lock: optimistic
concurrency by insert. Two DCs that both take orders during an overlap can both hand out a number
before either has seen the other's.

Numbering strategies (the `strategy` knob):
    next            MAX(number)+1 as this DC sees it, retried on 1062
    auto_increment  AUTO_INCREMENT with per-DC auto_increment_increment/offset (set per session here)
    ranges          each DC takes MAX+1 within its own block of `range_size` numbers
    uuid            no number at all: each ticket gets a UUID code
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from typing import ClassVar

from pydantic import Field

from lab.client import Client
from lab.client.recording import AUTO_KEY
from lab.workloads.base import Invariant, Settings, Slot, Snapshot, Table, Violation, Workload, option
from lab.workloads.plan import PlannedOp

DUPLICATE_KEY = "1062"


class TicketSettings(Settings):
    products: dict[str, int] = Field(default_factory=lambda: {"A": 1, "B": 3, "C": 5},
                                     description="product -> tickets per unit")
    orders_per_client: int = Field(4, ge=1, le=10_000)
    max_quantity: int = Field(4, ge=1, le=100, description="units of each product per order, at most")
    claim_retries: int = Field(10, ge=0, le=1000, description="new numbers tried after a duplicate-key error")
    range_size: int = Field(1_000_000, ge=1, description="ranges strategy: numbers in each DC's block")


class Tickets(Workload):
    name = "tickets"
    description = "unique consecutive ticket numbers by insert-retry on a primary key"
    settings_model = TicketSettings
    knobs: ClassVar = {"strategy": ("next", "auto_increment", "ranges", "uuid")}
    operations = ("order", "claim", "ticket")
    count_columns = ("distinct_numbers", "orders_placed", "tickets_sold", "claim_retries", "missing_numbers")
    settings: TicketSettings

    @property
    def strategy(self) -> str:
        return option(self.parameters, "strategy", "next")

    def tables(self) -> list[Table]:
        increment = " AUTO_INCREMENT" if self.strategy == "auto_increment" else ""
        return [
            Table("orders", "CREATE TABLE orders (id VARCHAR(40) PRIMARY KEY, dc VARCHAR(16) NOT NULL, "
                            "items VARCHAR(255) NOT NULL, tickets_wanted INT NOT NULL)", ("id",)),
            Table("ticket_numbers", f"CREATE TABLE ticket_numbers (number BIGINT NOT NULL{increment} PRIMARY KEY, "
                                    "order_id VARCHAR(40) NOT NULL, product VARCHAR(16) NOT NULL)", ("number",)),
            Table("tickets", "CREATE TABLE tickets (id VARCHAR(48) PRIMARY KEY, order_id VARCHAR(40) NOT NULL, "
                             "product VARCHAR(16) NOT NULL, number BIGINT NULL, code CHAR(36) NULL)", ("id",)),
        ]

    # --- operations ------------------------------------------------------------------------
    def plan(self, slots: list[Slot], duration: float, seed: int) -> dict[str, list[PlannedOp]]:
        rng = random.Random(f"tickets:{seed}")
        per_client = self.settings.orders_per_client
        plans: dict[str, list[PlannedOp]] = {}
        index = 0
        for number in range(per_client):
            for position, slot in enumerate(slots):
                at = duration * (number + position / len(slots)) / per_client
                items = {p: rng.randint(0, self.settings.max_quantity) for p in self.settings.products}
                if not any(items.values()):
                    items[next(iter(items))] = 1
                order_id = f"{slot.client}-o{number}"
                plans.setdefault(slot.client, []).append(PlannedOp(
                    index, at, slot.dc, slot.client, "order", order_id,
                    {"items": items, "uuids": [str(uuid.UUID(int=rng.getrandbits(128), version=4))
                                               for _ in range(self.tickets_in(items))]}))
                index += 1
        return plans

    def tickets_in(self, items: dict[str, int]) -> int:
        return sum(quantity * self.settings.products[p] for p, quantity in items.items())

    def prepare(self, client: Client) -> None:
        if self.strategy == "auto_increment":
            # what a per-DC my.cnf would say; set per session so nothing leaks into the next cell
            client.session_sql = [f"SET SESSION auto_increment_increment = {client.dc_count}",
                                  f"SET SESSION auto_increment_offset = {client.dc_index + 1}"]

    def execute(self, client: Client, op: PlannedOp, number: int) -> None:
        items: dict[str, int] = op.args["items"]
        text = "+".join(f"{q}x{p}" for p, q in items.items() if q)
        placed = client.write("insert", "INSERT INTO orders (id, dc, items, tickets_wanted) "
                                        "VALUES (%(id)s, %(dc)s, %(items)s, %(n)s)",
                              {"id": op.key, "dc": client.dc, "items": text, "n": self.tickets_in(items)},
                              table="orders", key={"id": op.key}, op="order", changes={"items": text})
        if placed.error:
            return
        codes = iter(op.args["uuids"])
        for product, quantity in items.items():
            for unit in range(quantity * self.settings.products[product]):
                ticket_id = f"{op.key}/{product}{unit}"
                code = next(codes)
                ticket_number = None if self.strategy == "uuid" else self.claim(client, op.key, product)
                if ticket_number is None and self.strategy != "uuid":
                    continue  # no number could be claimed: this ticket is not issued
                client.write("insert", "INSERT INTO tickets (id, order_id, product, number, code) "
                                       "VALUES (%(id)s, %(order)s, %(product)s, %(number)s, %(code)s)",
                             {"id": ticket_id, "order": op.key, "product": product, "number": ticket_number,
                              "code": code if self.strategy == "uuid" else None},
                             table="tickets", key={"id": ticket_id}, op="ticket",
                             changes={"order_id": op.key, "number": ticket_number})

    def claim(self, client: Client, order_id: str, product: str) -> int | None:
        """Insert a number into ticket_numbers, taking a new one after each duplicate-key error."""
        owner = {"order_id": order_id, "product": product}
        if self.strategy == "auto_increment":
            outcome = client.write("insert", "INSERT INTO ticket_numbers (order_id, product) "
                                             "VALUES (%(order_id)s, %(product)s)", owner,
                                   table="ticket_numbers", key={"number": AUTO_KEY}, op="claim", changes=owner)
            return outcome.insert_id if not outcome.error else None
        for attempt in range(self.settings.claim_retries + 1):
            candidate = self.next_candidate(client)
            if candidate is None:
                return None
            outcome = client.write("insert", "INSERT INTO ticket_numbers (number, order_id, product) "
                                             "VALUES (%(number)s, %(order_id)s, %(product)s)",
                                   {"number": candidate, **owner}, table="ticket_numbers",
                                   key={"number": candidate}, op="claim", changes=owner, attempt=attempt)
            if not outcome.error:
                return candidate
            if not outcome.error.startswith(DUPLICATE_KEY):
                return None
        return None

    def next_candidate(self, client: Client) -> int | None:
        low, high = 1, 2**62
        if self.strategy == "ranges":
            low = client.dc_index * self.settings.range_size + 1
            high = low + self.settings.range_size - 1
        outcome, rows = client.select("SELECT COALESCE(MAX(number), %(low)s - 1) + 1 AS n FROM ticket_numbers "
                                      "WHERE number BETWEEN %(low)s AND %(high)s", {"low": low, "high": high},
                                      op="next_number", table="ticket_numbers")
        return int(rows[0]["n"]) if rows and not outcome.error else None

    # --- verdicts --------------------------------------------------------------------------
    def invariants(self) -> list[Invariant]:
        return [
            Invariant("duplicate_number", "no number is held by two different tickets, on any DC", duplicate_numbers),
            Invariant("lost_ticket", "every ticket a customer was sold is held by every DC", lost_tickets),
            Invariant("number_owned_by_other_order",
                      "a ticket's number is registered to the ticket's own order on the same DC", foreign_numbers),
            Invariant("gap", "sold numbers run 1, 2, 3, ... with no number skipped", gaps),
        ]

    def counts(self, snapshot: Snapshot) -> dict[str, int]:
        claims = [r for r in snapshot.operations if r.get("op") == "claim"]
        sold = _sold_numbers(snapshot)
        return {
            "distinct_numbers": len(sold),
            "orders_placed": len(snapshot.writes("order")),
            "tickets_sold": len(snapshot.writes("ticket")),
            "claim_retries": sum(1 for r in claims if str(r.get("error") or "").startswith(DUPLICATE_KEY)),
            "missing_numbers": (max(sold) - len(sold)) if sold else 0,
        }


# --- invariants: pure functions of a snapshot ------------------------------------------------
def _sold_numbers(snapshot: Snapshot) -> set[int]:
    tickets = snapshot.union("tickets")
    if tickets.empty or "number" not in tickets:
        return set()
    return {int(n) for n in tickets["number"].dropna()}


def duplicate_numbers(snapshot: Snapshot) -> list[Violation]:
    """Numbers that two or more distinct tickets reference, taking the tickets of every DC together."""
    holders: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    tickets = snapshot.union("tickets")
    for row in tickets.dropna(subset=["number"]).to_dict("records") if not tickets.empty else []:
        holders[int(row["number"])][str(row["id"])].add(str(row["dc"]))
    found = []
    for number, by_ticket in sorted(holders.items()):
        if len(by_ticket) > 1:
            who = ", ".join(f"{ticket} ({'+'.join(sorted(dcs))})" for ticket, dcs in sorted(by_ticket.items()))
            found.append(Violation("duplicate_number", "*", "tickets", str(number), f"held by {who}"))
    return found


def lost_tickets(snapshot: Snapshot) -> list[Violation]:
    """Tickets whose sale was acknowledged (the INSERT succeeded) but that a DC does not hold."""
    sold = {str(r["key"]): r["dc"] for r in snapshot.writes("ticket")}
    found = []
    for dc in snapshot.dcs:
        held = set(snapshot.table(dc, "tickets")["id"].astype(str))
        found += [Violation("lost_ticket", dc, "tickets", ticket, f"sold on {sold_on}, not held by {dc}")
                  for ticket, sold_on in sorted(sold.items()) if ticket not in held]
    return found


def foreign_numbers(snapshot: Snapshot) -> list[Violation]:
    """Tickets whose number is registered, on the same DC, to another order (or not registered at all)."""
    found = []
    for dc in snapshot.dcs:
        registry = snapshot.table(dc, "ticket_numbers")
        owners = {int(r["number"]): str(r["order_id"]) for r in registry.to_dict("records")}
        for row in snapshot.table(dc, "tickets").dropna(subset=["number"]).to_dict("records"):
            owner = owners.get(int(row["number"]))
            if owner != str(row["order_id"]):
                where = "not registered" if owner is None else f"registered to order {owner}"
                found.append(Violation("number_owned_by_other_order", dc, "tickets", str(row["id"]),
                                       f"number {int(row['number'])} is {where}"))
    return found


def gaps(snapshot: Snapshot) -> list[Violation]:
    """Each break in the sold numbers (every DC's tickets together), as one violation naming the missing run."""
    sold = sorted(_sold_numbers(snapshot))
    found = []
    previous = 0
    for number in sold:
        if number > previous + 1:
            missing = number - previous - 1
            found.append(Violation("gap", "*", "tickets", str(previous + 1),
                                   f"{missing} number(s) missing: {previous + 1}..{number - 1}"))
        previous = number
    return found
