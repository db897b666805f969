"""Pure rendering of the network faults: which packets an iptables rule drops, which tc commands shape."""

from __future__ import annotations

import pytest

from lab.faults import iptables, shaping
from lab.faults.iptables import DropRule, Flow
from lab.faults.network import parse_direction
from lab.faults.params import TC_RATE

IPS = {"dc1": "172.30.0.2", "dc2": "172.30.0.3", "dc1-ro": "172.30.0.4"}
TAG = "mysqllab/flt-x/123/partition-1"


def test_direction_names_the_flow() -> None:
    assert parse_direction(("dc1", "dc2"), "both") == "both"
    assert parse_direction(("dc1", "dc2"), "dc1->dc2") == "forward"
    assert parse_direction(("dc1", "dc2"), "dc2 -> dc1") == "backward"
    with pytest.raises(ValueError, match="dc1->dc2"):
        parse_direction(("dc1", "dc2"), "dc1->dc3")


def test_flows_cover_every_pair_in_the_chosen_direction() -> None:
    both = iptables.flows(["dc1", "dc1-ro"], ["dc2"], "both")
    assert set(both) == {Flow("dc1", "dc2"), Flow("dc2", "dc1"), Flow("dc1-ro", "dc2"), Flow("dc2", "dc1-ro")}
    assert iptables.flows(["dc1"], ["dc2"], "forward") == [Flow("dc1", "dc2")]
    assert iptables.flows(["dc1"], ["dc2"], "backward") == [Flow("dc2", "dc1")]


def test_full_partition_drops_everything_from_the_peer_on_the_receiving_side() -> None:
    rules = iptables.drop_rules(iptables.flows(["dc1"], ["dc2"], "both"), IPS, TAG, "all")
    assert [r.receiver for r in rules] == ["dc2", "dc1"]
    assert rules[0].insert_argv() == ["iptables", "-w", "5", "-I", "INPUT", "-s", "172.30.0.2/32",
                                      "-m", "comment", "--comment", TAG, "-j", "DROP"]


def test_replication_scope_drops_only_what_the_peers_mysqld_sends() -> None:
    [rule] = iptables.drop_rules([Flow("dc1", "dc2")], IPS, TAG, "replication")
    assert rule.receiver == "dc2"
    spec = rule.spec()
    assert spec[spec.index("--sport") + 1] == "3306" and spec[spec.index("-s") + 1] == "172.30.0.2/32"


def test_loss_adds_a_statistic_match_and_full_loss_is_a_plain_drop() -> None:
    lossy = DropRule("dc2", "172.30.0.2", TAG, probability=0.25).spec()
    assert lossy[lossy.index("--probability") + 1] == "0.250000"
    assert "statistic" not in DropRule("dc2", "172.30.0.2", TAG, probability=1.0).spec()


LISTING = f"""-P INPUT ACCEPT
-A INPUT -s 172.30.0.2/32 -m comment --comment "{TAG}" -j DROP
-A INPUT -s 172.30.0.3/32 -m comment --comment "{TAG}0" -j DROP
-A INPUT -s 172.30.0.4/32 -p tcp -m tcp --sport 3306 -m comment --comment "mysqllab/flt-x/9/loss-2" -m statistic \
--mode random --probability 0.29999999981 -j DROP
-A INPUT -s 10.0.0.1/32 -j DROP
"""


def test_deletions_match_the_exact_tag_only() -> None:
    [command] = iptables.deletions(LISTING, TAG)
    assert command[:4] == ["iptables", "-w", "5", "-D"]
    assert command[4:7] == ["INPUT", "-s", "172.30.0.2/32"] and TAG in command


def test_a_tag_prefix_sweeps_a_whole_lab_but_nothing_else() -> None:
    commands = iptables.deletions(LISTING, iptables.tag_for("flt-x", ""))
    assert len(commands) == 3
    assert not iptables.deletions(LISTING, iptables.tag_for("flt", ""))


def test_shaping_class_filters_one_peer_and_netem_is_a_leaf() -> None:
    shaped = shaping.PeerClass("eth0", 0x10, "172.30.0.3", rate="1mbit")
    klass, filt = shaped.add_argvs()
    assert klass[-4:] == ["rate", "1mbit", "ceil", "1mbit"] and "1ab:10" in klass
    assert filt[-6:] == ["match", "ip", "dst", "172.30.0.3/32", "flowid", "1ab:10"]
    delayed = shaping.PeerClass("eth0", 0x11, "172.30.0.3", delay_ms=100, jitter_ms=10).add_argvs()
    assert delayed[0][-4:] == ["rate", shaping.UNLIMITED, "ceil", shaping.UNLIMITED]
    assert delayed[1][-4:] == ["netem", "delay", "100ms", "10ms"] and delayed[1][delayed[1].index("parent") + 1] == \
        "1ab:11"
    assert [argv[1:3] for argv in shaped.delete_argvs()] == [["filter", "del"], ["class", "del"]]


def test_root_detection_never_replaces_a_foreign_qdisc() -> None:
    assert shaping.root_kind("qdisc noqueue 0: root refcnt 2\n") == "none"
    assert shaping.root_kind("qdisc htb 1ab: root refcnt 2 r2q 10 default 0x1\n") == "lab"
    assert shaping.root_kind("qdisc tbf 8001: root refcnt 2 rate 1Mbit\n") == "foreign"
    listing = "class htb 1ab:1 root prio 0 rate 10Gbit\nclass htb 1ab:1f root prio 0 rate 1Mbit\n"
    assert shaping.used_minors(listing) == {1, 0x1F}


def test_rates_are_validated_like_tc_writes_them() -> None:
    assert TC_RATE.match("1mbit") and TC_RATE.match("512kbit")
    assert not TC_RATE.match("1 mbit") and not TC_RATE.match("fast")
