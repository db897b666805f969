"""Remove what the lab created, found by label, so nothing depends on in-process memory."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

from docker.errors import APIError, NotFound

from lab import engine, labels, state


def remove_lab(lab_name: str | None) -> tuple[int, int]:
    """Remove containers and networks of one lab (or of every lab when `lab_name` is None)."""
    client = engine.client()
    selector = [f"{labels.MANAGED}=true"] + ([f"{labels.LAB}={lab_name}"] if lab_name else [])
    containers = client.containers.list(all=True, filters={"label": selector})
    for container in containers:
        try:
            if container.status == "paused":
                container.unpause()
            container.remove(force=True, v=True)
        except NotFound:
            pass
        except APIError as exc:
            if "already in progress" not in str(exc):
                raise
    networks = client.networks.list(filters={"label": selector})
    for network in networks:
        try:
            network.remove()
        except NotFound:
            pass
    if lab_name:
        state.remove(lab_name)
    else:
        for name in state.all_names():
            state.remove(name)
    return len(containers), len(networks)


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into the same unwinding path as Ctrl-C so cleanup runs."""


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    def handler(signum, frame):  # noqa: ANN001, ARG001
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
