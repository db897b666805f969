"""The pytest plugin (entry point `pytest11`): a running lab as a fixture, reused across the session.

    @pytest.mark.lab(topology="active-passive", flavor="mysql:9.7")     # or indirect parametrization:
    @pytest.mark.parametrize("lab", [{"binlog_format": "ROW"}], indirect=True)
    def test_x(lab): ...

The `lab` fixture hands out a lab of the pool (`lab_pool`, one per topology and flavor for the whole
session), reset to the binlog format asked for. Labs are removed when the session ends, however it
ends: failures, Ctrl-C, SIGTERM (turned into Ctrl-C so teardown runs), and per xdist worker.
`--lab-keep` leaves them running for debugging (`lab down --all` removes them later).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from lab.db.lab import Lab
from lab.testing.pool import DEFAULT_FLAVOR, LabPool, LabSpec


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lab", "multi-DC replication lab (lab.testing)")
    group.addoption("--lab-keep", action="store_true", default=False,
                    help="Keep the labs running after the session, for debugging; `lab down --all` removes them.")
    group.addoption("--lab-flavor", default=None,
                    help=f"Flavor of the `lab` fixture when a test does not name one (default: {DEFAULT_FLAVOR}).")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "lab(topology=..., flavor=..., binlog_format=...): the lab the `lab` "
                                       "fixture hands out (default: active-active, --lab-flavor, STATEMENT)")
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) in (
            signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough: the teardown must be allowed to finish
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def lab_pool(request: pytest.FixtureRequest) -> Iterator[LabPool]:
    """Every lab of the session; removed at its end unless --lab-keep."""
    pool = LabPool(keep=bool(request.config.getoption("--lab-keep")))
    try:
        yield pool
    finally:
        pool.close()


def lab_spec(request: pytest.FixtureRequest) -> LabSpec:
    """The lab a test asks for: defaults, then its `lab` marker, then an indirect parameter (a dict, or a
    topology name)."""
    chosen: dict[str, Any] = {"flavor": request.config.getoption("--lab-flavor") or DEFAULT_FLAVOR}
    marker = request.node.get_closest_marker("lab")
    if marker is not None:
        chosen.update(marker.kwargs)
    param = getattr(request, "param", None)
    if isinstance(param, str):
        chosen["topology"] = param
    elif isinstance(param, dict):
        chosen.update(param)
    elif param is not None:
        raise pytest.UsageError(f"the lab fixture takes a dict or a topology name, got {param!r}")
    try:
        return LabSpec(**chosen)
    except TypeError as exc:
        raise pytest.UsageError(f"lab marker or parameter: {exc} (use topology, flavor, binlog_format)") from None


@pytest.fixture
def lab(request: pytest.FixtureRequest, lab_pool: LabPool) -> Lab:
    """A running lab, reset for this test (no user data, empty binlogs and GTIDs)."""
    return lab_pool.get(lab_spec(request))
