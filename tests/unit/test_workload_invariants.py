"""Workload invariants and counts on hand-built snapshots (pure logic, no servers)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from lab.workloads.base import Snapshot
from lab.workloads.documents import Documents, DocumentSettings, same_version_same_content, version_collisions
from lab.workloads.orders import (
    VARIANTS,
    Orders,
    OrderSettings,
    approved_with_refund,
    impossible_variants,
)
from lab.workloads.tickets import (
    Tickets,
    TicketSettings,
    duplicate_numbers,
    foreign_numbers,
    gaps,
    lost_tickets,
)

TICKET_COLUMNS = ("id", "order_id", "product", "number", "code")
NUMBER_COLUMNS = ("number", "order_id", "product")
ENTITY_COLUMNS = ("id", "name", "email", "plan", "version")


def frame(columns: tuple[str, ...], rows: list[tuple]) -> pd.DataFrame:
    """A table as the cell reads it (lab.runner.cell.read_table): object columns, named even when empty."""
    return pd.DataFrame(rows, columns=list(columns), dtype=object)


def op(seq: int, kind: str, op_name: str, key: Any, *, dc: str = "dc1", rows: int | None = 1,
       error: str | None = None, table: str = "tickets", **extra: Any) -> dict[str, Any]:
    return {"seq": seq, "kind": kind, "op": op_name, "table": table, "key": key, "dc": dc,
            "rows_affected": rows, "error": error, **extra}


def tickets_snapshot(tickets: dict[str, list[tuple]], numbers: dict[str, list[tuple]] | None = None,
                     operations: list[dict[str, Any]] | None = None) -> Snapshot:
    numbers = numbers or {}
    return Snapshot({dc: {"tickets": frame(TICKET_COLUMNS, rows),
                          "ticket_numbers": frame(NUMBER_COLUMNS, numbers.get(dc, []))}
                     for dc, rows in tickets.items()}, operations or [])


def found(violations: list) -> list[tuple[str, str, str]]:
    return [(v.invariant, v.dc, v.key) for v in violations]


# --- tickets -----------------------------------------------------------------------------------
def test_two_tickets_with_one_number_across_dcs_are_a_duplicate() -> None:
    """dc1 sold number 1 to one ticket, dc2 to another: one violation on '*', naming both holders."""
    snapshot = tickets_snapshot({"dc1": [("o1/A0", "o1", "A", 1, None), ("o2/A0", "o2", "A", 2, None)],
                                 "dc2": [("o9/A0", "o9", "A", 1, None), ("o2/A0", "o2", "A", 2, None)]})
    violations = duplicate_numbers(snapshot)
    assert found(violations) == [("duplicate_number", "*", "1")]
    assert violations[0].detail == "held by o1/A0 (dc1), o9/A0 (dc2)"


def test_same_ticket_on_both_dcs_is_not_a_duplicate() -> None:
    """Replication copies a ticket: one ticket id holding its number on two DCs is fine."""
    row = ("o1/A0", "o1", "A", 1, None)
    assert duplicate_numbers(tickets_snapshot({"dc1": [row], "dc2": [row]})) == []


def test_acknowledged_ticket_missing_on_one_dc_is_lost_there() -> None:
    """The insert of o1/A1 succeeded on dc1 but dc2 never got it; a failed insert is not a sale."""
    sold = [op(1, "insert", "ticket", "o1/A0"), op(2, "insert", "ticket", "o1/A1"),
            op(3, "insert", "ticket", "o1/A2", error="1062: Duplicate entry", rows=None),
            op(4, "insert", "claim", "3", table="ticket_numbers")]
    snapshot = tickets_snapshot({"dc1": [("o1/A0", "o1", "A", 1, None), ("o1/A1", "o1", "A", 2, None)],
                                 "dc2": [("o1/A0", "o1", "A", 1, None)]}, operations=sold)
    violations = lost_tickets(snapshot)
    assert found(violations) == [("lost_ticket", "dc2", "o1/A1")]
    assert violations[0].detail == "sold on dc1, not held by dc2"


def test_no_lost_ticket_when_every_dc_holds_every_sale() -> None:
    row = ("o1/A0", "o1", "A", 1, None)
    snapshot = tickets_snapshot({"dc1": [row], "dc2": [row]}, operations=[op(1, "insert", "ticket", "o1/A0")])
    assert lost_tickets(snapshot) == []


def test_ticket_number_registered_to_another_order_or_missing_is_foreign() -> None:
    """On dc2 number 1 belongs to o9 and number 2 is not registered; dc1 is consistent."""
    tickets = [("o1/A0", "o1", "A", 1, None), ("o1/A1", "o1", "A", 2, None)]
    snapshot = tickets_snapshot({"dc1": tickets, "dc2": tickets},
                                numbers={"dc1": [(1, "o1", "A"), (2, "o1", "A")], "dc2": [(1, "o9", "A")]})
    violations = foreign_numbers(snapshot)
    assert found(violations) == [("number_owned_by_other_order", "dc2", "o1/A0"),
                                 ("number_owned_by_other_order", "dc2", "o1/A1")]
    assert [v.detail for v in violations] == ["number 1 is registered to order o9", "number 2 is not registered"]


def test_uuid_tickets_have_no_number_to_be_foreign() -> None:
    snapshot = tickets_snapshot({"dc1": [("o1/A0", "o1", "A", None, "6f1c-uuid")]})
    assert foreign_numbers(snapshot) == []


def test_gaps_name_each_missing_run() -> None:
    """Numbers 1, 2, 5, 6, 9 (spread over two DCs) break twice: 3..4 and 7..8."""
    snapshot = tickets_snapshot({"dc1": [("a", "o1", "A", 1, None), ("b", "o1", "A", 2, None),
                                         ("e", "o3", "A", 9, None)],
                                 "dc2": [("c", "o2", "A", 5, None), ("d", "o2", "A", 6, None)]})
    violations = gaps(snapshot)
    assert found(violations) == [("gap", "*", "3"), ("gap", "*", "7")]
    assert [v.detail for v in violations] == ["2 number(s) missing: 3..4", "2 number(s) missing: 7..8"]


def test_gap_before_the_first_number() -> None:
    """Numbering starts at 1: a lone ticket 3 means 1..2 are missing."""
    violations = gaps(tickets_snapshot({"dc1": [("a", "o1", "A", 3, None)]}))
    assert [(v.key, v.detail) for v in violations] == [("1", "2 number(s) missing: 1..2")]


def test_consecutive_and_uuid_tickets_have_no_gaps() -> None:
    assert gaps(tickets_snapshot({"dc1": [("a", "o1", "A", 1, None), ("b", "o1", "A", 2, None)],
                                  "dc2": [("a", "o1", "A", 1, None)]})) == []
    assert gaps(tickets_snapshot({"dc1": [("a", "o1", "A", None, "u1"), ("b", "o1", "A", None, "u2")]})) == []


def test_ticket_counts() -> None:
    """Numbers 1, 2, 5 sold; two orders placed (one failed); one claim retried after 1062."""
    operations = [op(1, "insert", "order", "o1", table="orders"),
                  op(2, "insert", "order", "o2", table="orders", dc="dc2"),
                  op(3, "insert", "order", "o3", table="orders", error="2013: Lost connection", rows=None),
                  op(4, "insert", "claim", "1", table="ticket_numbers"),
                  op(5, "insert", "claim", "1", table="ticket_numbers", dc="dc2",
                     error="1062: Duplicate entry '1' for key 'PRIMARY'", rows=None),
                  op(6, "insert", "claim", "2", table="ticket_numbers", dc="dc2"),
                  op(7, "insert", "ticket", "o1/A0"), op(8, "insert", "ticket", "o2/A0", dc="dc2"),
                  op(9, "insert", "ticket", "o2/A1", dc="dc2"),
                  op(10, "read_query", "next_number", None, table="ticket_numbers")]
    snapshot = tickets_snapshot({"dc1": [("o1/A0", "o1", "A", 1, None), ("o2/A0", "o2", "A", 2, None)],
                                 "dc2": [("o2/A0", "o2", "A", 2, None), ("o2/A1", "o2", "A", 5, None)]},
                                operations=operations)
    counts = Tickets(TicketSettings(), {"strategy": "next"}).counts(snapshot)
    assert counts == {"distinct_numbers": 3, "orders_placed": 2, "tickets_sold": 3, "claim_retries": 1,
                      "missing_numbers": 2}
    assert set(counts) == set(Tickets.count_columns)


# --- documents ---------------------------------------------------------------------------------
def entities_snapshot(rows: dict[str, list[tuple]], operations: list[dict[str, Any]] | None = None) -> Snapshot:
    return Snapshot({dc: {"entities": frame(ENTITY_COLUMNS, dc_rows)} for dc, dc_rows in rows.items()},
                    operations or [])


def test_same_version_different_content_is_one_violation() -> None:
    """Entity 2 is at version 3 on both DCs with different names; entity 1 agrees."""
    snapshot = entities_snapshot({
        "dc1": [(1, "n1", "e1", "free", 2), (2, "dc1-c0-4", "e2", "free", 3)],
        "dc2": [(1, "n1", "e1", "free", 2), (2, "dc2-c0-7", "e2", "free", 3)],
    })
    violations = same_version_same_content(snapshot)
    assert found(violations) == [("version_identifies_content", "*", "2")]
    assert violations[0].detail == ("version 3 with different content: dc1: dc1-c0-4/e2/free; "
                                    "dc2: dc2-c0-7/e2/free")


def test_same_version_same_content_is_clean() -> None:
    row = (1, "n1", "e1", "pro", 5)
    assert same_version_same_content(entities_snapshot({"dc1": [row], "dc2": [row]})) == []


def test_different_versions_with_different_content_are_not_a_violation() -> None:
    """Diverged, but each version still names one content."""
    snapshot = entities_snapshot({"dc1": [(1, "a", "e1", "free", 2)], "dc2": [(1, "b", "e1", "free", 3)]})
    assert same_version_same_content(snapshot) == []


def document_write(seq: int, key: int, op_name: str, new_version: int, writes: dict[str, Any],
                   basis: dict[str, Any], *, rows: int = 1, error: str | None = None,
                   dc: str = "dc1") -> dict[str, Any]:
    return op(seq, "update", op_name, str(key), table="entities", rows=rows, error=error, dc=dc,
              writes={**writes, "version": new_version}, basis=basis, new_version=new_version,
              read_version=basis["version"])


SEED = {"name": "n1", "email": "e1", "plan": "free", "version": 1}


def test_version_collisions_from_history() -> None:
    """Two successful writes made version 2 of entity 1 with different content; a 409 made nothing."""
    operations = [
        document_write(1, 1, "patch", 2, {"name": "dc1-c0-0"}, SEED),
        document_write(2, 1, "patch", 2, {"email": "dc2-c0-0"}, SEED, dc="dc2"),
        document_write(3, 3, "put", 2, {"name": "x", "email": "e1", "plan": "free"}, SEED),
        document_write(4, 3, "put", 2, {"name": "y", "email": "e1", "plan": "free"}, SEED, rows=0, dc="dc2"),
    ]
    assert version_collisions(entities_snapshot({"dc1": []}, operations)) == [("1", 2)]


def test_same_content_at_one_version_is_no_collision() -> None:
    """A PATCH of name=x and a PUT of the same whole document agree on version 2."""
    operations = [document_write(1, 1, "patch", 2, {"name": "x"}, SEED),
                  document_write(2, 1, "put", 2, {"name": "x", "email": "e1", "plan": "free"}, SEED, dc="dc2")]
    assert version_collisions(entities_snapshot({"dc1": []}, operations)) == []


def test_document_counts() -> None:
    """Two PUTs (one a 409), two PATCHes, a failed write not counted, one version collision."""
    operations = [
        document_write(1, 1, "put", 2, {"name": "a", "email": "e1", "plan": "free"}, SEED),
        document_write(2, 1, "put", 2, {"name": "b", "email": "e1", "plan": "free"}, SEED, rows=0),
        document_write(3, 2, "patch", 2, {"name": "c"}, SEED),
        document_write(4, 2, "patch_no_version", 2, {"name": "d", "email": "e1", "plan": "free"}, SEED, dc="dc2"),
        document_write(5, 3, "put", 2, {"name": "e", "email": "e1", "plan": "free"}, SEED,
                       rows=None, error="1213: Deadlock found"),
        op(6, "read", "put", "1", table="entities"),
    ]
    counts = Documents(DocumentSettings(), {"requests": "patch_without_version"}).counts(
        entities_snapshot({"dc1": []}, operations))
    assert counts == {"puts": 2, "patches": 2, "conflicts_409": 1, "version_collisions": 1}
    assert set(counts) == set(Documents.count_columns)


# --- orders ------------------------------------------------------------------------------------
ORDER_COLUMNS = ("id", "state", "approved_by", "cancelled_by", "version")
PRODUCT_COLUMNS = ("id", "colour", "size", "changed_by", "version")


def orders_snapshot(orders: dict[str, list[tuple]], refunds: dict[str, list[tuple]] | None = None,
                    products: dict[str, list[tuple]] | None = None,
                    operations: list[dict[str, Any]] | None = None) -> Snapshot:
    refunds, products = refunds or {}, products or {}
    return Snapshot({dc: {"orders": frame(ORDER_COLUMNS, rows),
                          "refunds": frame(("order_id", "started_by", "dc"), refunds.get(dc, [])),
                          "products": frame(PRODUCT_COLUMNS, products.get(dc, [])),
                          "variants": frame(("colour", "size"), list(VARIANTS))}
                     for dc, rows in orders.items()}, operations or [])


def test_approved_order_with_a_refund_is_a_violation_on_that_dc() -> None:
    """dc1 holds order 1 approved and refunded; dc2 holds it approved without the refund row."""
    snapshot = orders_snapshot(
        {"dc1": [(1, "approved", "dc2-c0-0", "dc1-c0-0", 3), (2, "cancelled", None, "dc1-c0-1", 2)],
         "dc2": [(1, "approved", "dc2-c0-0", None, 2), (2, "cancelled", None, "dc1-c0-1", 2)]},
        refunds={"dc1": [(1, "dc1-c0-0", "dc1"), (2, "dc1-c0-1", "dc1")], "dc2": [(2, "dc1-c0-1", "dc1")]})
    violations = approved_with_refund(snapshot)
    assert found(violations) == [("approved_after_refund", "dc1", "1")]
    assert violations[0].detail == "refund started, state approved (approved_by dc2-c0-0, cancelled_by dc1-c0-0)"


def test_cancelled_and_refunded_orders_are_clean() -> None:
    snapshot = orders_snapshot({"dc1": [(1, "cancelled", None, "op", 2)], "dc2": [(1, "cancelled", None, "op", 2)]},
                               refunds={"dc1": [(1, "op", "dc1")], "dc2": [(1, "op", "dc1")]})
    assert approved_with_refund(snapshot) == []


def test_green_m_is_an_impossible_variant_per_dc() -> None:
    """Product 1 ended green M on dc2 only; product 2 is green L everywhere (exists)."""
    snapshot = orders_snapshot(
        {"dc1": [], "dc2": []},
        products={"dc1": [(1, "green", "S", "a", 2), (2, "green", "L", "b", 2)],
                  "dc2": [(1, "green", "M", "c", 3), (2, "green", "L", "b", 2)]})
    violations = impossible_variants(snapshot)
    assert found(violations) == [("impossible_variant", "dc2", "1")]
    assert violations[0].detail == "green size M does not exist"


def test_existing_variants_are_clean() -> None:
    snapshot = orders_snapshot({"dc1": []}, products={"dc1": [(key, c, s, None, 1) for key, (c, s)
                                                             in enumerate(VARIANTS, start=1)]})
    assert impossible_variants(snapshot) == []


def test_order_counts() -> None:
    """Applied and rejected transitions, a refusal by validation, one refund (failed inserts do not count)."""
    operations = [
        op(1, "update", "cancel", "1", table="orders", rows=1),
        op(2, "update", "approve", "1", table="orders", dc="dc2", rows=1),
        op(3, "update", "recolour", "2", table="products", rows=0),
        op(4, "update", "resize", "2", table="products", rows=None, error="1213: Deadlock found"),
        op(5, "app", "approve", "3", table="orders", outcome="refused", state="cancelled"),
        op(6, "insert", "refund", "1", table="refunds"),
        op(7, "insert", "refund", "4", table="refunds", rows=None, error="1062: Duplicate entry"),
    ]
    counts = Orders(OrderSettings(), {"validation": "app", "retries": "0"}).counts(
        orders_snapshot({"dc1": []}, operations=operations))
    assert set(counts) == set(Orders.count_columns)
    assert counts == {"transitions_applied": 2, "transitions_rejected": 1, "refused_by_validation": 1,
                      "refunds_started": 1, "retried_attempts": 0}


def test_retries_are_counted_from_the_writes_and_refusals_that_record_their_attempt() -> None:
    """A retry re-reads and then writes again or is refused; the read itself carries no attempt number."""
    operations = [
        op(1, "read", "approve", "1", table="orders"),
        {**op(2, "update", "approve", "1", table="orders", rows=0), "attempt": 0},
        op(3, "read", "approve", "1", table="orders"),
        {**op(4, "update", "approve", "1", table="orders", rows=1), "attempt": 1},
        {**op(5, "app", "cancel", "2", table="orders", outcome="refused", state="approved"), "attempt": 2},
    ]
    counts = Orders(OrderSettings(), {"validation": "app", "retries": "2"}).counts(
        orders_snapshot({"dc1": []}, operations=operations))
    assert counts["retried_attempts"] == 2
