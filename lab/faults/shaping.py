"""Per-peer egress shaping with tc: an HTB root the lab owns, one class per fault, a u32 filter per peer.

This kernel has HTB, TBF and u32 but no prio, no fq and no netem (../shared/notes), so the
per-peer classifier is HTB: unmatched traffic (the application's, via the published port)
takes the default class at 10gbit, and only packets to the chosen peer enter the shaped class.
Where netem exists, a latency class gets a netem leaf. The root's handle `1ab:` marks it as
the lab's, so a sweep can recognise it; a foreign root qdisc is never replaced.
"""

from __future__ import annotations

import functools
import re
import subprocess
import threading
from dataclasses import dataclass

from lab.faults.netns import Netns, NetnsError, require_tool

ROOT = "1ab"
DEFAULT_MINOR = 1
FIRST_MINOR = 0x10
UNLIMITED = "10gbit"
_locks: dict[tuple[int, str], threading.Lock] = {}
_locks_guard = threading.Lock()


@functools.lru_cache(maxsize=1)
def netem_available() -> bool:
    """Probe in a throwaway namespace, so the check never touches a real interface."""
    try:
        result = subprocess.run([require_tool("unshare"), "-n", require_tool("tc"), "qdisc", "add", "dev", "lo",
                                 "root", "netem", "delay", "1ms"], capture_output=True, text=True, timeout=10)
    except (NetnsError, OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


@dataclass(frozen=True)
class PeerClass:
    """Shape what one namespace sends to one peer: a rate, and (with netem) a delay."""

    dev: str
    minor: int
    peer_ip: str
    rate: str | None = None
    delay_ms: float = 0.0
    jitter_ms: float = 0.0

    @property
    def classid(self) -> str:
        return f"{ROOT}:{self.minor:x}"

    def add_argvs(self) -> list[list[str]]:
        rate = self.rate or UNLIMITED
        argvs = [["tc", "class", "add", "dev", self.dev, "parent", f"{ROOT}:", "classid", self.classid,
                  "htb", "rate", rate, "ceil", rate]]
        if self.delay_ms > 0:
            netem = ["netem", "delay", f"{self.delay_ms:g}ms"]
            if self.jitter_ms > 0:
                netem.append(f"{self.jitter_ms:g}ms")
            argvs.append(["tc", "qdisc", "add", "dev", self.dev, "parent", self.classid,
                          "handle", f"{self.minor + 0x200:x}:", *netem])
        argvs.append(["tc", "filter", "add", "dev", self.dev, "parent", f"{ROOT}:", "protocol", "ip",
                      "prio", str(self.minor), "u32", "match", "ip", "dst", f"{self.peer_ip}/32",
                      "flowid", self.classid])
        return argvs

    def delete_argvs(self) -> list[list[str]]:
        return [["tc", "filter", "del", "dev", self.dev, "parent", f"{ROOT}:", "protocol", "ip",
                 "prio", str(self.minor)],
                ["tc", "class", "del", "dev", self.dev, "classid", self.classid]]


def root_argvs(dev: str) -> list[list[str]]:
    return [["tc", "qdisc", "add", "dev", dev, "root", "handle", f"{ROOT}:", "htb", "default", f"{DEFAULT_MINOR:x}"],
            ["tc", "class", "add", "dev", dev, "parent", f"{ROOT}:", "classid", f"{ROOT}:{DEFAULT_MINOR:x}",
             "htb", "rate", UNLIMITED, "ceil", UNLIMITED]]


def used_minors(class_listing: str) -> set[int]:
    """`tc class show` output -> minors of the lab's classes."""
    return {int(m, 16) for m in re.findall(rf"class htb {ROOT}:([0-9a-f]+)", class_listing)}


def root_kind(qdisc_listing: str) -> str:
    """'lab' if our HTB is the root, 'none' for the kernel's default root, otherwise 'foreign'."""
    for line in qdisc_listing.splitlines():
        if " root " in f"{line} ":
            if line.startswith(f"qdisc htb {ROOT}:"):
                return "lab"
            kind = line.split()[1] if len(line.split()) > 1 else ""
            return "none" if kind in ("noqueue", "pfifo_fast", "mq", "fq_codel", "pfifo") else "foreign"
    return "none"


def _lock(netns: Netns, dev: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault((netns.pid, dev), threading.Lock())


def add(netns: Netns, peer_ip: str, rate: str | None = None, delay_ms: float = 0.0,
        jitter_ms: float = 0.0) -> PeerClass:
    """Install the root if needed, then a class for `peer_ip`; returns it for `remove`."""
    dev = netns.device_towards(peer_ip)
    with _lock(netns, dev):
        kind = root_kind(netns.run("tc", "qdisc", "show", "dev", dev).stdout)
        if kind == "foreign":
            raise NetnsError(f"{netns.container}: {dev} already has a root qdisc the lab did not create")
        if kind == "none":
            for argv in root_argvs(dev):
                netns.run(*argv)
        minors = used_minors(netns.run("tc", "class", "show", "dev", dev).stdout)
        minor = max([FIRST_MINOR - 1, *minors]) + 1
        shaped = PeerClass(dev, minor, peer_ip, rate, delay_ms, jitter_ms)
        for argv in shaped.add_argvs():
            netns.run(*argv)
        return shaped


def remove(netns: Netns, shaped: PeerClass) -> None:
    """Remove one class; drop the lab's root once no class of any fault is left. Missing pieces are fine."""
    with _lock(netns, shaped.dev):
        for argv in shaped.delete_argvs():
            netns.run(*argv, check=False)
        listing = netns.run("tc", "class", "show", "dev", shaped.dev, check=False)
        if listing.returncode == 0 and not (used_minors(listing.stdout) - {DEFAULT_MINOR}):
            remove_root(netns, shaped.dev)


def remove_root(netns: Netns, dev: str) -> bool:
    if root_kind(netns.run("tc", "qdisc", "show", "dev", dev, check=False).stdout) != "lab":
        return False
    netns.run("tc", "qdisc", "del", "dev", dev, "root", check=False)
    return True
