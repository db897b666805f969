"""`lab images ensure`: make flavors usable on this engine (local, pulled, or built offline) and seed a datadir."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import click

from lab.cli.common import friendly_errors, progress
from lab.errors import LabError


@click.group(epilog="Exit codes: those of the subcommand.")
def images() -> None:
    """Find, pull or build server images."""


@images.command(name="ensure", epilog="Exit codes: 0 every flavor is ready; 2 a flavor is unknown, cannot be "
                                      "pulled or built here; 130 interrupted.")
@click.argument("flavors", nargs=-1, required=True)
@friendly_errors
def images_ensure(flavors: tuple[str, ...]) -> None:
    """Make FLAVORS (e.g. mysql:9.7 mariadb:10.11) usable: local, pulled, or built offline; then seed a datadir."""
    from lab.db.images.resolve import resolve
    from lab.db.images.seed import seeded
    from lab.db.images.spec import parse_flavor

    requests = []
    for text in flavors:
        try:
            requests.append((text, parse_flavor(text)))
        except ValueError as exc:
            raise LabError(f"images ensure: {exc}") from None

    def ensure(item: tuple[str, Any]) -> str:
        text, request = item
        image = resolve(request, progress=progress)
        seed = seeded(image)
        return f"{text}: {image} ({seed.dialect.label}), seeded datadir ready"

    # Offline builds are mostly download and unpack time, so two at once roughly halve the wait.
    with ThreadPoolExecutor(max_workers=max(1, len(requests))) as pool:
        for line in pool.map(ensure, requests):
            progress(line)
