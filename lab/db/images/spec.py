"""Parse what a topology asks for: `mysql:9.7`, `mariadb:10.11`, or an explicit image."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lab.db.dialects import FAMILIES

FLAVOR_PATTERN = re.compile(r"^(?P<family>[a-z]+):(?P<version>\d+\.\d+(\.\d+)?)$")


@dataclass(frozen=True)
class ImageRequest:
    """A family/version to resolve, or an explicit image reference used as-is."""

    family: str | None
    version: str | None
    explicit_image: str | None = None

    @property
    def official_reference(self) -> str:
        """The name users elsewhere pull, e.g. `mysql:8.4` or `mariadb:11.8`."""
        return self.explicit_image or f"{self.family}:{self.version}"

    def __str__(self) -> str:
        return self.official_reference


def parse_flavor(text: str) -> ImageRequest:
    """`mysql:9.7` -> ImageRequest; raises ValueError with a reason for anything else."""
    match = FLAVOR_PATTERN.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not FAMILY:VERSION, e.g. mysql:9.7 or mariadb:10.11")
    family = match.group("family")
    if family not in FAMILIES:
        raise ValueError(f"unknown flavor family {family!r}; known: {', '.join(FAMILIES)}")
    return ImageRequest(family=family, version=match.group("version"))
