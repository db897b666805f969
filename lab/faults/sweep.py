"""Undo what faults may have left behind when their driver died without healing (SIGKILL, power loss).

FaultSet heals on every exit path a process can see; this is for the rest. It works from
the servers alone, not from memory: lab-tagged iptables rules, the lab's root qdiscs,
paused or stopped containers, and replicas pointed at a proxy on their loopback.
"""

from __future__ import annotations

import dataclasses

from lab.db import server as srv
from lab.db.lab import Lab
from lab.db.replication import link_status
from lab.faults import iptables, shaping
from lab.faults.netns import of as netns_of
from lab.faults.network import repoint


def sweep(lab: Lab) -> list[str]:
    """Return what was undone, one line per action (empty: nothing was left)."""
    actions: list[str] = []
    incoming = {link.replica.name for link in lab.links}
    for server in lab.servers.values():
        container = server.container
        container.reload()
        if container.status == "paused":
            container.unpause()
            actions.append(f"{server.name}: unpaused")
        elif container.status != "running":
            container.start()
            server.endpoint = dataclasses.replace(server.endpoint, port=srv.published_port(container))
            srv.wait_ready(container, server.endpoint)
            if server.name in incoming:
                server.execute(server.dialect.start_replica())
            actions.append(f"{server.name}: started (was {container.status})")
        netns = netns_of(container)
        removed = iptables.remove_tagged(netns, iptables.tag_for(lab.name, ""))
        if removed:
            actions.append(f"{server.name}: removed {removed} iptables rule(s)")
        for line in netns.run("ip", "-o", "link", "show").stdout.splitlines():
            dev = line.split(":")[1].strip().split("@")[0]
            if shaping.remove_root(netns, dev):
                actions.append(f"{server.name}: removed the lab's qdisc on {dev}")
    for link in lab.links:
        status = link_status(link.replica)
        if status is None:
            continue
        host, port = link.replica.dialect.source_address(status)
        if host in ("127.0.0.1", "localhost"):
            repoint(link, link.source.name, 3306)
            actions.append(f"{link.source.name}->{link.replica.name}: re-pointed from {host}:{port} to "
                           f"{link.source.name}:3306")
    return actions
