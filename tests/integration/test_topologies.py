"""Every shipped topology comes up on both flavors under STATEMENT and ROW, and really replicates."""

from __future__ import annotations

import pytest

from lab.db.lab import Lab
from lab.db.server import Server
from lab.testing import LabPool

TOPOLOGIES = ["active-passive", "active-active", "ring-3", "active-active-read-replica"]
FORMATS = ["STATEMENT", "ROW"]


def downstream(lab: Lab, origin: str) -> set[str]:
    """Servers a write on `origin` should reach, following links through servers that log replica updates."""
    reached, frontier = set(), [origin]
    while frontier:
        node = frontier.pop()
        for link in lab.topology.links:
            if link.source == node and link.replica not in reached and link.replica != origin:
                reached.add(link.replica)
                if lab.topology.servers[link.replica].log_replica_updates:
                    frontier.append(link.replica)
    return reached


def binlog_event_types(server: Server, marker: str) -> list[str]:
    """Event types in the server's current binlog that belong to statements touching `marker`."""
    current = server.query(server.dialect.binlog_status())[0]["File"]
    events = server.query(server.dialect.binlog_events(current))
    return [e["Event_type"] for e in events if marker in (e.get("Info") or "") or "rows" in e["Event_type"].lower()]


@pytest.mark.parametrize("binlog_format", FORMATS)
@pytest.mark.parametrize("topology_name", TOPOLOGIES)
def test_topology_replicates(lab_pool: LabPool, flavor: str, topology_name: str, binlog_format: str) -> None:
    lab = lab_pool.get(topology_name, flavor, binlog_format)
    statuses = lab.link_statuses()
    assert statuses and all(status is not None and status.running for _, status in statuses)

    sources = sorted({link.source for link in lab.topology.links})
    primary = sources[0]
    lab.server(primary).execute("CREATE TABLE probe (id INT PRIMARY KEY, origin VARCHAR(32), n INT)")
    assert lab.catch_up().caught_up
    for name in sources:
        lab.server(name).execute(f"INSERT INTO probe VALUES ({lab.server(name).server_id}, '{name}', 0)")
    result = lab.catch_up()
    assert result.caught_up, result.summary()
    for name in sources:
        for target in downstream(lab, name):
            rows = lab.server(target).query("SELECT origin FROM probe WHERE id=%s", (lab.server(name).server_id,))
            assert rows == [{"origin": name}], f"write on {name} not seen on {target}"


@pytest.mark.parametrize("binlog_format", FORMATS)
def test_binlog_holds_events_of_the_configured_format(lab_pool: LabPool, flavor: str, binlog_format: str) -> None:
    lab = lab_pool.get("active-passive", flavor, binlog_format)
    source, replica = lab.server("dc1"), lab.server("dc2")
    source.execute("CREATE TABLE fmt (id INT PRIMARY KEY, v INT)", "INSERT INTO fmt VALUES (1, 0)")
    assert lab.catch_up().caught_up
    source.execute("UPDATE fmt SET v = v + 1 WHERE id = 1")
    assert lab.catch_up().caught_up
    for server in (source, replica):  # the replica logs what it applied (log_replica_updates)
        types = binlog_event_types(server, "UPDATE fmt")
        has_update_query = any(t == "Query" for t in types)
        has_row_event = any(t.startswith("Update_rows") for t in types)
        if binlog_format == "STATEMENT":
            assert has_update_query and not has_row_event, (server.name, types)
        else:
            assert has_row_event and not has_update_query, (server.name, types)
    assert replica.query("SELECT v FROM fmt WHERE id = 1") == [{"v": 1}]
