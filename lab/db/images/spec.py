"""Parse what a topology asks for: `mysql:9.7`, `mariadb:10.11`, `mariadb:11.8+galera`, or an explicit image.

A variant is a build of the same server with more in it: `galera` adds the Galera provider and the
state-transfer tools. The official images already carry them, so a variant only changes which
image the lab builds offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lab.db.dialects import FAMILIES

FLAVOR_PATTERN = re.compile(r"^(?P<family>[a-z]+):(?P<version>\d+\.\d+(\.\d+)?)(\+(?P<variant>[a-z]+))?$")
VARIANTS = {"galera": "mariadb"}   # variant -> the family it exists for


@dataclass(frozen=True)
class ImageRequest:
    """A family/version (and variant) to resolve, or an explicit image reference used as-is."""

    family: str | None
    version: str | None
    explicit_image: str | None = None
    variant: str | None = None

    @property
    def official_reference(self) -> str:
        """The name users elsewhere pull, e.g. `mysql:8.4` or `mariadb:11.8` (which carry every variant)."""
        return self.explicit_image or f"{self.family}:{self.version}"

    def __str__(self) -> str:
        return self.official_reference + (f"+{self.variant}" if self.variant and not self.explicit_image else "")


def parse_flavor(text: str, variant: str | None = None) -> ImageRequest:
    """`mysql:9.7` -> ImageRequest; raises ValueError with a reason for anything else. `variant` is what the
    topology's design needs (`galera`), unless the text names one itself."""
    match = FLAVOR_PATTERN.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not FAMILY:VERSION, e.g. mysql:9.7 or mariadb:10.11")
    family = match.group("family")
    if family not in FAMILIES:
        raise ValueError(f"unknown flavor family {family!r}; known: {', '.join(FAMILIES)}")
    chosen = match.group("variant") or variant
    if chosen is not None and VARIANTS.get(chosen) != family:
        known = ", ".join(f"+{name} ({owner})" for name, owner in VARIANTS.items())
        raise ValueError(f"{text!r}: no variant +{chosen} of {family}; known: {known}")
    return ImageRequest(family=family, version=match.group("version"), variant=chosen)
