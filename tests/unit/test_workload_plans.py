"""Workload plans are pure functions of the seed and the settings (no servers)."""

from __future__ import annotations

from collections import Counter
from itertools import product

import pytest

from lab.workloads.base import Slot, Workload
from lab.workloads.documents import Documents, DocumentSettings
from lab.workloads.orders import COLOURS, SIZES, VARIANTS, Orders, OrderSettings
from lab.workloads.plan import PlannedOp
from lab.workloads.tickets import Tickets, TicketSettings

INTERLEAVED = [Slot("dc1", "dc1-c0"), Slot("dc2", "dc2-c0"), Slot("dc1", "dc1-c1"), Slot("dc2", "dc2-c1")]
SINGLE_DC = [Slot("dc1", f"dc1-c{i}") for i in range(4)]


def workloads() -> list[Workload]:
    return [Tickets(TicketSettings(), {"strategy": "next"}),
            Documents(DocumentSettings(), {"requests": "patch_without_version"}),
            Orders(OrderSettings(), {"validation": "app"})]


def flat(plans: dict[str, list[PlannedOp]]) -> list[PlannedOp]:
    return sorted((op for ops in plans.values() for op in ops), key=lambda op: op.index)


@pytest.mark.parametrize("workload", workloads(), ids=lambda w: w.name)
def test_same_seed_gives_the_same_plan(workload: Workload) -> None:
    assert workload.plan(INTERLEAVED, 3.0, seed=7) == workload.plan(INTERLEAVED, 3.0, seed=7)


@pytest.mark.parametrize("workload", workloads(), ids=lambda w: w.name)
def test_different_seed_gives_a_different_plan(workload: Workload) -> None:
    assert workload.plan(INTERLEAVED, 3.0, seed=7) != workload.plan(INTERLEAVED, 3.0, seed=8)


@pytest.mark.parametrize("workload", workloads(), ids=lambda w: w.name)
def test_each_op_belongs_to_its_client_and_indexes_are_the_global_stream(workload: Workload) -> None:
    plans = workload.plan(INTERLEAVED, 3.0, seed=7)
    slots = {slot.client: slot.dc for slot in INTERLEAVED}
    for client, ops in plans.items():
        assert all(op.client == client and op.dc == slots[client] for op in ops)
        assert all(0 <= op.at <= 3.0 for op in ops)
    assert [op.index for op in flat(plans)] == list(range(len(flat(plans))))


# --- tickets -----------------------------------------------------------------------------------
def test_ticket_plan_gives_each_client_its_orders() -> None:
    settings = TicketSettings(orders_per_client=5)
    plans = Tickets(settings, {"strategy": "next"}).plan(INTERLEAVED, 3.0, seed=1)
    assert set(plans) == {slot.client for slot in INTERLEAVED}
    for client, ops in plans.items():
        assert [op.kind for op in ops] == ["order"] * 5
        assert [op.key for op in ops] == [f"{client}-o{n}" for n in range(5)]
        assert [op.at for op in ops] == sorted(op.at for op in ops)


def test_ticket_plan_has_one_uuid_per_ticket_of_the_order() -> None:
    """Products hold {A:1, B:3, C:5} tickets; each order carries exactly that many distinct codes."""
    workload = Tickets(TicketSettings(), {"strategy": "uuid"})
    ops = flat(workload.plan(INTERLEAVED, 3.0, seed=3))
    assert workload.tickets_in({"A": 4, "B": 1, "C": 3}) == 22
    for op in ops:
        items = op.args["items"]
        assert sum(items.values()) > 0
        expected = items.get("A", 0) * 1 + items.get("B", 0) * 3 + items.get("C", 0) * 5
        assert len(op.args["uuids"]) == expected
    codes = [code for op in ops for code in op.args["uuids"]]
    assert len(set(codes)) == len(codes)


# --- orders ------------------------------------------------------------------------------------
def pairs(plans: dict[str, list[PlannedOp]]) -> dict[tuple[str, int], list[PlannedOp]]:
    table = {"cancel": "orders", "approve": "orders", "recolour": "products", "resize": "products"}
    grouped: dict[tuple[str, int], list[PlannedOp]] = {}
    for op in flat(plans):
        grouped.setdefault((table[op.kind], op.key), []).append(op)
    return grouped


def test_order_plan_acts_twice_on_every_order_and_product_at_once() -> None:
    """Each order gets a cancel and an approve, each product a recolour and a resize, at one planned time."""
    settings = OrderSettings(orders=5, products=4)
    grouped = pairs(Orders(settings, {}).plan(INTERLEAVED, 3.0, seed=2))
    assert set(grouped) == {("orders", k) for k in range(1, 6)} | {("products", k) for k in range(1, 5)}
    for (table, _key), ops in grouped.items():
        assert len(ops) == 2
        assert {op.kind for op in ops} == ({"cancel", "approve"} if table == "orders" else {"recolour", "resize"})
        assert ops[0].at == ops[1].at
        assert ops[0].client != ops[1].client


def test_order_pairs_are_on_different_dcs_with_interleaved_slots() -> None:
    grouped = pairs(Orders(OrderSettings(orders=5, products=4), {}).plan(INTERLEAVED, 3.0, seed=2))
    assert all(ops[0].dc != ops[1].dc for ops in grouped.values())


def test_order_pairs_are_two_clients_of_dc1_when_single_dc() -> None:
    grouped = pairs(Orders(OrderSettings(orders=5, products=4), {}).plan(SINGLE_DC, 3.0, seed=2))
    assert all(ops[0].dc == ops[1].dc == "dc1" and ops[0].client != ops[1].client for ops in grouped.values())


@pytest.mark.parametrize(("colour", "size"), list(product(COLOURS, SIZES)))
def test_pick_only_returns_existing_variants(colour: str, size: str) -> None:
    """From any colour/size read (even the impossible green M), a pick makes an existing variant or none."""
    row = {"colour": colour, "size": size}
    new_colour = Orders._pick("colour", "size", row)
    new_size = Orders._pick("size", "colour", row)
    if new_colour is not None:
        assert new_colour != colour
        assert (new_colour, size) in VARIANTS
    if new_size is not None:
        assert new_size != size
        assert (colour, new_size) in VARIANTS


def test_pick_from_the_seed_red_s() -> None:
    """Red S recolours to green (green S exists) and resizes to M (red M exists)."""
    assert Orders._pick("colour", "size", {"colour": "red", "size": "S"}) == "green"
    assert Orders._pick("size", "colour", {"colour": "red", "size": "S"}) == "M"


def test_pick_skips_values_that_make_no_variant() -> None:
    """Green S resizes to L (green M does not exist); red M recolours to blue (green M does not exist)."""
    assert Orders._pick("size", "colour", {"colour": "green", "size": "S"}) == "L"
    assert Orders._pick("colour", "size", {"colour": "red", "size": "L"}) == "green"
    assert Orders._pick("colour", "size", {"colour": "red", "size": "M"}) == "blue"


def test_pick_returns_none_when_no_other_value_exists() -> None:
    """A size no colour comes in leaves nothing to recolour to; a colour with no variant, no size to take."""
    assert Orders._pick("colour", "size", {"colour": "red", "size": "XL"}) is None
    assert Orders._pick("size", "colour", {"colour": "purple", "size": "S"}) is None


# --- documents ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("requests", "kinds"), [
    ("put_only", {"put"}),
    ("patch_without_version", {"put", "patch_no_version"}),
    ("patch_with_version", {"put", "patch"}),
])
def test_document_request_mix(requests: str, kinds: set[str]) -> None:
    settings = DocumentSettings(entities=3, requests_per_client=25)
    ops = flat(Documents(settings, {"requests": requests}).plan(INTERLEAVED, 3.0, seed=5))
    assert {op.kind for op in ops} == kinds
    assert len(ops) == 25 * len(INTERLEAVED)
    assert {op.key for op in ops} <= {1, 2, 3}
    assert all(op.args["field"] in ("name", "email", "plan") for op in ops)


def test_document_plan_defaults_to_put_only() -> None:
    ops = flat(Documents(DocumentSettings(), {}).plan(INTERLEAVED, 3.0, seed=5))
    assert Counter(op.kind for op in ops) == {"put": DocumentSettings().requests_per_client * len(INTERLEAVED)}
