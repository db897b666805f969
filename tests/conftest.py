"""Shared fixtures. Integration tests reuse one running lab per (topology, flavor) and reset it between uses."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

FLAVORS = [f for f in os.environ.get("LAB_TEST_FLAVORS", "mysql:9.7,mariadb:10.11").split(",") if f]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.docker)


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("LAB_STATE_DIR", os.path.join(str(config.rootpath), ".lab", "test-state"))
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    os.environ.setdefault("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")


class LabPool:
    """Labs kept for the whole session, keyed by topology and flavor; `get` resets before handing out."""

    def __init__(self) -> None:
        self._labs: dict[tuple[str, str], object] = {}

    def get(self, topology_name: str, flavor: str, binlog_format: str = "STATEMENT"):
        from lab.db import topology
        from lab.db.lab import Lab

        key = (topology_name, flavor)
        lab = self._labs.get(key)
        if lab is None:
            resolved = topology.load(f"topologies/{topology_name}.yaml", flavor=flavor, binlog_format=binlog_format)
            # Fixed names, so a crashed session's leftovers are replaced; LAB_TEST_PREFIX separates
            # two sessions sharing one engine.
            prefix = os.environ.get("LAB_TEST_PREFIX", "t")
            name = f"{prefix}-{topology_name}-{flavor.replace(':', '').replace('.', '')}"[:31].rstrip("-")
            from lab.db import cleanup

            cleanup.remove_lab(name)
            lab = Lab.up(resolved, name=name)
            self._labs[key] = lab
        else:
            lab.reset(binlog_format=binlog_format)
        if binlog_format:
            for server in lab.servers.values():
                assert server.query("SELECT @@global.binlog_format AS f")[0]["f"] == binlog_format
        return lab

    def close(self) -> None:
        for lab in self._labs.values():
            lab.down()
        self._labs.clear()


@pytest.fixture(scope="session")
def labs() -> Iterator[LabPool]:
    pool = LabPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(params=FLAVORS)
def flavor(request: pytest.FixtureRequest) -> str:
    return request.param
