"""Project-wide test settings. Integration tests take their labs from the lab's own pytest plugin (lab.testing:
`lab_pool`, one running lab per topology and flavor for the session, reset between uses), as users do."""

from __future__ import annotations

import os

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


@pytest.fixture(params=FLAVORS)
def flavor(request: pytest.FixtureRequest) -> str:
    return request.param
