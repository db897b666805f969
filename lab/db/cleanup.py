"""Remove what the lab created, found by label, so nothing depends on in-process memory."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from docker.errors import APIError, NotFound

from lab.db import engine, labels, state
from lab.errors import LabError

SWEEPS = 20


def _remove_containers(api: Any, selector: dict[str, list[str]], removed: set[str]) -> bool:
    """One sweep over the labelled containers; True when there were none left to remove."""
    found = api.containers(all=True, filters=selector)
    for entry in found:
        try:
            if entry.get("State") == "paused":
                api.unpause(entry["Id"])
            api.remove_container(entry["Id"], force=True, v=True)
            removed.add(entry["Id"])
        except NotFound:
            pass
        except APIError as exc:
            if "already in progress" not in str(exc) and "is not paused" not in str(exc):
                raise LabError(f"could not remove container {entry.get('Names', ['?'])[0]}: {exc}") from None
    return not found


def _remove_networks(api: Any, selector: dict[str, list[str]], removed: set[str]) -> bool:
    """One sweep over the labelled networks; False while one still has endpoints (a container being created)."""
    done = True
    for network in api.networks(filters=selector):
        try:
            api.remove_network(network["Id"])
            removed.add(network["Id"])
        except NotFound:
            pass
        except APIError as exc:
            if "active endpoints" not in str(exc):
                raise LabError(f"could not remove network {network.get('Name')}: {exc}") from None
            done = False
    return done


def remove_lab(lab_name: str | None) -> tuple[int, int]:
    """Remove containers and networks of one lab (or of every lab when `lab_name` is None).

    Uses the low-level API (no per-container inspect, which races with concurrent removal) and
    sweeps until nothing labelled is left: a container that another command (a `lab run` starting
    a lab) creates meanwhile is caught by the next sweep, and a network is removed once its last
    endpoint is gone. Raises LabError, never a Docker traceback.
    """
    api = engine.client().api
    selector = {"label": [f"{labels.MANAGED}=true"] + ([f"{labels.LAB}={lab_name}"] if lab_name else [])}
    containers: set[str] = set()
    networks: set[str] = set()
    for _ in range(SWEEPS):
        no_containers = _remove_containers(api, selector, containers)
        if _remove_networks(api, selector, networks) and no_containers:
            break
        time.sleep(0.2)
    else:
        raise LabError(f"labelled containers or networks kept appearing for {SWEEPS} sweeps; run `lab down --all` "
                       "again once other lab commands have finished")
    if lab_name:
        state.remove(lab_name)
    else:
        for name in state.all_names():
            state.remove(name)
        state.remove_idle_locks()
    return len(containers), len(networks)


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into the same unwinding path as Ctrl-C so cleanup runs."""


# Set by the first SIGTERM. The process is then shutting down: supervisors often signal again (timeout,
# then the shell), and a second raise, or the default handler, would abort the cleanup the first one
# started. So from then on SIGTERM is ignored (SIGKILL still stops the process).
_terminating = threading.Event()


def _on_sigterm(signum: int, frame: object) -> None:
    if _terminating.is_set():
        return  # cleanup is already running; let it finish
    _terminating.set()
    raise Terminated()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        if not _terminating.is_set():  # after a SIGTERM, keep ignoring the next ones through the cleanup
            signal.signal(signal.SIGTERM, previous)
