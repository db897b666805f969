"""Fault dicts, target names, history records and the heal-at-exit guarantee, without any server."""

from __future__ import annotations

import os
import signal
from types import SimpleNamespace
from typing import Any

import pytest

from lab.client import ClockRegistry
from lab.db.replication import Link
from lab.errors import ConfigError
from lab.faults import FaultContext, FaultSet, build, kinds
from lab.faults.base import Fault, FaultError
from lab.faults.network import Latency, PacketLoss, Partition
from lab.history import History


def stand_in_lab() -> Any:
    """Names only: what target resolution reads from a Lab (no containers, no connections)."""
    servers = {name: SimpleNamespace(name=name, dc=dc) for name, dc in
               (("dc1", "dc1"), ("dc1-ro", "dc1"), ("dc2", "dc2"))}
    links = [Link(servers["dc1"], servers["dc2"], True), Link(servers["dc2"], servers["dc1"], True),
             Link(servers["dc1"], servers["dc1-ro"], True)]
    topology = SimpleNamespace(servers=servers, dcs={"dc1": "dc1", "dc2": "dc2"},
                               links=[SimpleNamespace(source=k.source.name, replica=k.replica.name) for k in links])
    return SimpleNamespace(name="flt-unit", servers=servers, links=links, topology=topology,
                           design=SimpleNamespace(certifying=False, label="async"))


@pytest.fixture
def ctx() -> FaultContext:
    return FaultContext(stand_in_lab(), History(None, "unit"), source="exp.yaml")  # type: ignore[arg-type]


def test_partition_from_the_documented_dict(ctx: FaultContext) -> None:
    fault = build(ctx, {"type": "partition", "between": ["dc1", "dc2"], "direction": "both"})
    assert isinstance(fault, Partition)
    assert fault.describe() == {"type": "partition", "id": fault.id, "between": ["dc1", "dc2"], "direction": "both",
                                "scope": "all"}
    assert {s.name for s in fault.left} == {"dc1", "dc1-ro"}  # a DC means every server in it


def test_one_way_partition_defaults_to_the_replication_scope(ctx: FaultContext) -> None:
    fault = build(ctx, {"type": "partition", "between": ["dc1", "dc2"], "direction": "dc2->dc1"})
    assert fault.params()["scope"] == "replication"
    assert {(f.sender, f.receiver) for f in fault.flows()} == {("dc2", "dc1"), ("dc2", "dc1-ro")}


def test_every_kind_builds_from_a_dict(ctx: FaultContext) -> None:
    specs = [
        {"type": "loss", "between": ["dc1", "dc2"], "probability": 0.1},
        {"type": "bandwidth", "between": ["dc1", "dc2"], "rate": "1mbit", "direction": "dc1->dc2"},
        {"type": "latency", "between": ["dc1", "dc2"], "delay_ms": 100, "jitter_ms": 5, "seed": 3},
        {"type": "stop_thread", "link": "dc1->dc2", "thread": "io"},
        {"type": "stop_sql", "link": "dc2->dc1"},
        {"type": "delay", "link": "dc1->dc2", "seconds": 5},
        {"type": "idempotent", "link": "dc1->dc2"},
        {"type": "skip_event", "link": "dc1->dc1-ro", "count": 2},
        {"type": "crash", "server": "dc1-ro"},
        {"type": "restart", "dc": "dc2", "timeout_s": 5},
        {"type": "pause", "server": "dc2"},
        {"type": "clock_skew", "dc": "dc2", "ms": -250},
        {"type": "hold_appliers"},
        {"type": "hold_appliers", "links": ["dc1->dc2"]},
    ]
    built = [build(ctx, spec) for spec in specs]
    assert [f.kind for f in built] == ["loss", "bandwidth", "latency", "stop_thread", "stop_thread", "delay",
                                       "idempotent", "skip_event", "crash", "restart", "pause", "clock_skew",
                                       "hold_appliers", "hold_appliers"]
    every, one = built[-2:]
    assert every.params() == {"links": ["dc1->dc2", "dc2->dc1", "dc1->dc1-ro"]}
    assert [r.name for r in every.replicas] == ["dc2", "dc1", "dc1-ro"]  # each receiving server once
    assert one.params() == {"links": ["dc1->dc2"]} and [r.name for r in one.replicas] == ["dc2"]
    assert isinstance(built[0], PacketLoss) and built[0].params()["probability"] == 0.1
    assert built[4].params() == {"link": "dc2->dc1", "thread": "sql"}
    assert built[9].params() == {"server": "dc2"}  # a DC names its primary
    assert {spec["type"] for spec in specs} <= set(kinds())


def test_latency_proxies_exactly_the_links_that_cross_the_delayed_direction(ctx: FaultContext) -> None:
    one_way = Latency(ctx, ("dc1", "dc2"), 200, direction="dc1->dc2")
    assert [(link.source.name, link.replica.name, down, up) for link, down, up in one_way.proxied_links()] == [
        ("dc1", "dc2", 0.2, 0.0), ("dc2", "dc1", 0.0, 0.2)]  # dc2->dc1: only dc1's requests are delayed
    assert len(Latency(ctx, ("dc1-ro", "server:dc1"), 10).proxied_links()) == 1  # inside DC1


@pytest.mark.parametrize(("spec", "message"), [
    ({"type": "partitoin", "between": ["dc1", "dc2"]}, r"exp.yaml: timeline\[2\]\.type: unknown type 'partitoin'"),
    ({"type": "partition", "between": ["dc1", "dc9"]}, r"timeline\[2\]\.between: no server or DC named 'dc9'"),
    ({"type": "partition", "between": ["dc1", "dc2"], "direction": "dc1->dc9"}, r"\.direction: must be 'both'"),
    ({"type": "partition", "between": ["dc1", "dc2"], "durection": "both"},
     r"\.durection: unknown key 'durection' \(a partition fault takes: type, between, direction, scope\)"),
    ({"type": "loss", "between": ["dc1", "dc2"], "probability": 2}, r"\.probability: .*less than or equal to 1"),
    ({"type": "partition", "between": ["dc1", "dc2"], "direction": "sideways"}, r"\.direction: must be 'both'"),
    ({"type": "stop_thread", "link": "dc1->dc2"}, r"\.thread: is required"),
    ({"type": "crash"}, r"\.server: give exactly one of `server` or `dc`"),
    ({"between": ["dc1", "dc2"]}, r"timeline\[2\]: needs a `type`"),
    ({"type": "loss", "between": ["dc1", "dc2"]}, r"\.probability: is required"),
    ({"type": "bandwidth", "between": ["dc1", "dc2"], "rate": "fast"}, r"\.rate: 'fast' is not a tc rate"),
    ({"type": "delay", "link": "dc1->dc1-ro", "seconds": True}, r"\.seconds: Input should be a valid integer"),
    ({"type": "delay", "link": "dc2->dc1-ro", "seconds": 1}, r"\.link: the topology has no link dc2->dc1-ro"),
    ({"type": "crash", "server": "dc1", "dc": "dc1"}, r"give exactly one of `server` or `dc`"),
    ({"type": "clock_skew", "dc": "dc1-ro", "ms": 5}, r"\.dc: no DC named 'dc1-ro'"),
    ({"type": "partition", "between": ["dc1", "dc1-ro"]}, r"\.between: both sides contain dc1-ro"),
    ({"type": "hold_appliers", "links": ["dc2->dc1-ro"]}, r"\.links: the topology has no link dc2->dc1-ro"),
    ({"type": "hold_appliers", "links": "dc1->dc2"}, r"\.links: Input should be a valid list"),
])
def test_bad_specs_are_one_line_errors_naming_the_field(ctx: FaultContext, spec: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as failure:
        build(ctx, spec, where="timeline[2]", ignore=("at", "for"))
    assert "\n" not in str(failure.value)


def test_timeline_keys_can_be_left_to_the_caller(ctx: FaultContext) -> None:
    spec = {"at": 10, "for": 20, "type": "pause", "server": "dc1"}
    assert build(ctx, spec, ignore=("at", "for")).params() == {"server": "dc1"}
    with pytest.raises(ConfigError, match="unknown key"):
        build(ctx, spec)


class Flag(Fault):
    """A fault whose effect is a flag, so the protocol can be tested without servers."""

    kind = "unit_flag"

    def __init__(self, ctx: FaultContext, fail_heal: bool = False, on_heal: Any = None) -> None:
        super().__init__(ctx)
        self.on, self.heals, self.fail_heal, self.on_heal = False, 0, fail_heal, on_heal

    def params(self) -> dict[str, Any]:
        return {}

    def _start(self) -> dict[str, Any]:
        self.on = True
        return {"flag": True}

    def _heal(self) -> None:
        self.heals += 1
        if self.on_heal:
            self.on_heal()
        if self.fail_heal:
            raise RuntimeError("cannot heal")
        self.on = False


Fault.registry.pop("unit_flag")  # test-only kind: keep it out of build()/kinds()


def test_start_and_heal_are_recorded_and_heal_is_idempotent(ctx: FaultContext) -> None:
    flag = Flag(ctx)
    assert flag.heal() is False  # never started: nothing to heal, nothing recorded
    flag.start()
    with pytest.raises(FaultError, match="already active"):
        flag.start()
    assert flag.heal() is True and flag.heal() is False
    assert ctx.history is not None
    records = [r for r in ctx.history.records if r["type"] == "fault"]
    assert [r["event"] for r in records] == ["start", "heal"]
    assert records[0]["flag"] is True and records[0]["fault_id"] == flag.id
    assert records[0]["time"] <= records[1]["time"]


def test_faultset_heals_in_reverse_order_on_any_exception(ctx: FaultContext) -> None:
    order: list[str] = []
    flags = [Flag(ctx, on_heal=lambda i=i: order.append(f"f{i}")) for i in range(3)]
    with pytest.raises(KeyboardInterrupt), FaultSet(ctx) as faults:
        for flag in flags:
            faults.start(flag)
        raise KeyboardInterrupt
    assert order == ["f2", "f1", "f0"] and not any(f.on for f in flags)


def test_a_failing_heal_does_not_stop_the_others(ctx: FaultContext) -> None:
    good, bad = Flag(ctx), Flag(ctx, fail_heal=True)
    with pytest.raises(FaultError, match="could not heal every fault"), FaultSet(ctx) as faults:
        faults.start(good)
        faults.start(bad)
    assert not good.on and bad.active
    assert any(r["event"] == "heal_failed" for r in ctx.history.records)  # type: ignore[union-attr]


def test_an_interrupt_during_healing_waits_until_everything_is_healed(ctx: FaultContext) -> None:
    first = Flag(ctx, on_heal=lambda: os.kill(os.getpid(), signal.SIGINT))
    second = Flag(ctx)
    with pytest.raises(KeyboardInterrupt, match="while healing"), FaultSet(ctx) as faults:
        faults.start(second)
        faults.start(first)  # healed first, and interrupts
    assert not first.on and not second.on
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_closed_faultset_refuses_new_faults(ctx: FaultContext) -> None:
    with FaultSet(ctx) as faults:
        pass
    with pytest.raises(FaultError, match="already healing"):
        faults.start(Flag(ctx))


def test_clock_skew_is_shared_per_dc_and_additive(ctx: FaultContext) -> None:
    clock = ctx.clocks.clock("dc2")
    with FaultSet(ctx) as faults:
        ahead = faults.start({"type": "clock_skew", "dc": "dc2", "ms": 500})
        faults.start({"type": "clock_skew", "dc": "dc2", "ms": -200})
        assert clock.skew_ms == 300 and ctx.clocks.clock("dc1").skew_ms == 0
        faults.heal(ahead)
        assert clock.skew_ms == -200
    assert ctx.clocks.skews() == {"dc2": 0, "dc1": 0}


def test_clock_registry_hands_out_one_clock_per_dc() -> None:
    clocks = ClockRegistry()
    assert clocks.clock("dc1") is clocks.clock("dc1") and clocks.clock("dc1") is not clocks.clock("dc2")
    assert clocks.adjust("dc3", 7) == 7
