"""designs: how the servers of a topology replicate, one module per replication design.

    asynchronous  links from a source to a replica (`one-way`, `circular`), each optionally semi-synchronous
    group         MySQL Group Replication: members certify each other's writes (multi- or single-primary)
    galera        MariaDB Galera: nodes certify each other's write sets
    base          what a design answers: start options, forming, catch-up, reset, rejoin, member state

`lab.db.lab.Lab` asks its topology's design (`design_for`) and never branches on the design itself.
"""

from __future__ import annotations

from lab.db.designs.asynchronous import Asynchronous
from lab.db.designs.base import Design, MemberReport
from lab.db.designs.galera import Galera
from lab.db.designs.group import Group
from lab.db.topology import ResolvedTopology

DESIGNS: dict[str, type[Design]] = {"one-way": Asynchronous, "circular": Asynchronous, "group": Group,
                                    "galera": Galera}


def design_for(topology: ResolvedTopology) -> Design:
    return DESIGNS[topology.replication](topology)


__all__ = ["DESIGNS", "Asynchronous", "Design", "Galera", "Group", "MemberReport", "design_for"]
