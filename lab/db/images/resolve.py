"""Turn an ImageRequest into a local image: use what is there, else pull, else build offline."""

from __future__ import annotations

import threading
from collections.abc import Callable

from docker.errors import APIError, ImageNotFound

from lab.db import engine
from lab.db.images import offline
from lab.db.images.spec import ImageRequest
from lab.errors import ImageError

_build_lock = threading.Lock()


def _local(reference: str) -> str | None:
    try:
        engine.client().images.get(reference)
    except ImageNotFound:
        return None
    return reference


def _pull(reference: str) -> str | None:
    try:
        engine.client().images.pull(reference)
    except (APIError, ImageNotFound):
        return None
    return reference


def candidates(request: ImageRequest) -> list[str]:
    """Local names that satisfy the request, in order of preference."""
    if request.explicit_image:
        return [request.explicit_image]
    names = [request.official_reference]   # the official images carry every variant
    recipe = offline.recipe_for(request.family or "", request.version or "", request.variant)
    if recipe:
        names.append(recipe.tag)
    return names


def resolve(request: ImageRequest, allow_build: bool = True, progress: Callable[[str], None] = print) -> str:
    """Return a local image reference for `request`, pulling or building it if needed."""
    for name in candidates(request):
        if _local(name):
            return name
    reference = request.official_reference
    if _pull(reference):
        return reference
    recipe = offline.recipe_for(request.family or "", request.version or "", request.variant)
    if recipe is None:
        known = ", ".join(r.flavor_text for r in offline.RECIPES.values())
        raise ImageError(
            f"image {reference} is not local, cannot be pulled, and has no offline Debian recipe "
            f"(offline builds exist for: {known}; or `docker load` the image)"
        )
    if not allow_build:
        raise ImageError(f"image {request} is missing; build it with `lab images ensure {request}`")
    with _build_lock:
        if _local(recipe.tag):
            return recipe.tag
        progress(f"building {recipe.tag} offline from Debian {recipe.suite} (about a minute, cached afterwards)")
        return offline.build(recipe)


def local_lab_images() -> list[dict[str, str]]:
    """Images the lab can use right now, for `lab doctor`."""
    rows = []
    for image in engine.client().images.list():
        for tag in image.tags:
            repository = tag.split(":")[0]
            if repository in ("mysql", "mariadb") or repository.startswith(offline.OFFLINE_REPOSITORY + "/"):
                size_mb = f"{image.attrs['Size'] / 1e6:.0f}"
                rows.append({"image": tag, "id": image.short_id.split(":")[-1], "size_mb": size_mb})
    return sorted(rows, key=lambda row: row["image"])
