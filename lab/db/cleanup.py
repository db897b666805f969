"""Remove what the lab created, found by label, so nothing depends on in-process memory."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from docker.errors import APIError, NotFound

from lab.db import engine, labels, state


def remove_lab(lab_name: str | None) -> tuple[int, int]:
    """Remove containers and networks of one lab (or of every lab when `lab_name` is None).

    Uses the low-level API (no per-container inspect, which races with concurrent removal) and
    sweeps until nothing labelled is left, so a container created while we cleaned is caught too.
    """
    api = engine.client().api
    selector = {"label": [f"{labels.MANAGED}=true"] + ([f"{labels.LAB}={lab_name}"] if lab_name else [])}
    removed: set[str] = set()
    for _ in range(5):
        found = api.containers(all=True, filters=selector)
        if not found:
            break
        for entry in found:
            try:
                if entry.get("State") == "paused":
                    api.unpause(entry["Id"])
                api.remove_container(entry["Id"], force=True, v=True)
                removed.add(entry["Id"])
            except NotFound:
                pass
            except APIError as exc:
                if "already in progress" not in str(exc):
                    raise
                time.sleep(0.2)
    networks = api.networks(filters=selector)
    for network in networks:
        with suppress(NotFound):
            api.remove_network(network["Id"])
    if lab_name:
        state.remove(lab_name)
    else:
        for name in state.all_names():
            state.remove(name)
    return len(removed), len(networks)


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
