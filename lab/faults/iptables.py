"""iptables DROP rules inside containers' namespaces: rendering (pure) and applying/sweeping by tag.

A rule is always placed in the *receiving* container's INPUT chain and matches the sender's
address on the lab network, so a partition looks like a silent network (no RST, no ICMP):
replicas notice it only through their net timeout, as they would in a real datacenter.
Every rule carries a comment tag; healing deletes whatever carries the tag, so a half-applied
fault, or one from a crashed driver (`sweep`), is cleaned up the same way.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from lab.faults.netns import Netns

Scope = Literal["replication", "all"]
MYSQL_PORT = 3306
TAG_PREFIX = "mysqllab/"


def tag_for(lab_name: str, owner: str) -> str:
    return f"{TAG_PREFIX}{lab_name}/{owner}"


@dataclass(frozen=True)
class DropRule:
    """Drop (some) packets that `receiver` gets from `sender`."""

    receiver: str          # server name: whose namespace holds the rule
    sender_ip: str
    tag: str
    sender_port: int | None = None  # only packets from this TCP port (the sender's mysqld): its replicas' reads
    probability: float | None = None

    def spec(self) -> list[str]:
        args = ["INPUT", "-s", f"{self.sender_ip}/32"]
        if self.sender_port is not None:
            args += ["-p", "tcp", "--sport", str(self.sender_port)]
        args += ["-m", "comment", "--comment", self.tag]
        if self.probability is not None and self.probability < 1:
            args += ["-m", "statistic", "--mode", "random", "--probability", f"{self.probability:.6f}"]
        return [*args, "-j", "DROP"]

    def insert_argv(self) -> list[str]:
        return ["iptables", "-w", "5", "-I", *self.spec()]


@dataclass(frozen=True)
class Flow:
    """Packets from `sender` to `receiver` are affected."""

    sender: str
    receiver: str


def flows(left: Iterable[str], right: Iterable[str], direction: str) -> list[Flow]:
    """The directed server pairs a network fault touches. `direction` is 'both', 'L->R' or 'R->L' names."""
    left, right = list(left), list(right)
    result: list[Flow] = []
    for a in left:
        for b in right:
            if direction in ("both", "forward"):
                result.append(Flow(a, b))
            if direction in ("both", "backward"):
                result.append(Flow(b, a))
    return result


def drop_rules(selected: Iterable[Flow], ips: dict[str, str], tag: str, scope: Scope,
               probability: float | None = None) -> list[DropRule]:
    """One INPUT rule per flow, in the receiver's namespace.

    scope='replication' drops only what the sender's mysqld sends (source port 3306): the
    receiver's replication from the sender stops, while the sender can still replicate from
    the receiver. That is the meaningful one-way cut for TCP. scope='all' drops every packet
    of the flow, which for TCP soon stalls connections in both directions (no ACKs).
    """
    port = MYSQL_PORT if scope == "replication" else None
    return [DropRule(f.receiver, ips[f.sender], tag, port, probability) for f in selected]


def deletions(listing: str, tag: str) -> list[list[str]]:
    """`iptables -S` output -> the `-D` commands removing every rule that carries exactly `tag`."""
    commands = []
    for line in listing.splitlines():
        words = shlex.split(line)
        if len(words) < 2 or words[0] != "-A" or "--comment" not in words:
            continue
        comment = words[words.index("--comment") + 1]
        if comment == tag or (tag.endswith("/") and comment.startswith(tag)):
            commands.append(["iptables", "-w", "5", "-D", *words[1:]])
    return commands


def insert(netns: Netns, rule: DropRule) -> None:
    netns.run(*rule.insert_argv())


def remove_tagged(netns: Netns, tag: str) -> int:
    """Delete every rule with `tag` (or, for a tag ending in '/', every tag under it). Returns how many."""
    listing = netns.run("iptables", "-w", "5", "-S", "INPUT").stdout
    removed = 0
    for command in deletions(listing, tag):
        if netns.run(*command, check=False).returncode == 0:
            removed += 1
    return removed
