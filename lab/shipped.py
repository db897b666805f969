"""The files the lab ships: topologies, experiments and the notebook, in a checkout or inside an installed wheel.

A shipped file is named by its stem (`active-active`, `wix-incident`); anything else is a path. In a wheel
the files are package data under lab/_shipped/; in a checkout (or an editable install) they are the
repository's own topologies/, experiments/ and notebooks/ folders.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from lab.errors import LabError

KINDS = ("topologies", "experiments", "notebooks")
PACKAGED = Path(__file__).resolve().parent / "_shipped"
CHECKOUT = Path(__file__).resolve().parents[1]


def directory(kind: str) -> Path:
    """Where the shipped files of a kind are: the wheel's package data, else the checkout's folder."""
    packaged = PACKAGED / kind
    return packaged if packaged.is_dir() else CHECKOUT / kind


def sample_results() -> Path:
    """The small real results directory shipped next to the notebook, so it runs before any run of one's own
    (what it holds, when and on which servers it was measured: its README.md)."""
    return directory("notebooks") / "sample-results"


def names(kind: str) -> list[str]:
    return sorted(path.stem for path in directory(kind).glob("*.yaml"))


def find(kind: str, name_or_path: str | Path) -> Path:
    """A user's file by its path; else `./<kind>/<name>.yaml` (what `lab init` wrote); else the shipped file."""
    candidate = Path(name_or_path)
    if candidate.exists():
        return candidate
    for folder in (Path(kind), directory(kind)):
        found = folder / f"{candidate.stem}.yaml"
        if candidate.suffix in ("", ".yaml") and found.exists():
            return found
    return candidate


def init(target: Path) -> list[Path]:
    """Copy the shipped topology and experiment files into TARGET/topologies and TARGET/experiments, to edit.
    Existing files are never overwritten."""
    copied = []
    for kind in ("topologies", "experiments"):
        (target / kind).mkdir(parents=True, exist_ok=True)
        for source in sorted(directory(kind).glob("*.yaml")):
            destination = target / kind / source.name
            if destination.exists():
                continue
            shutil.copyfile(source, destination)
            copied.append(destination)
    if not copied and not any((target / kind).glob("*.yaml") for kind in ("topologies", "experiments")):
        raise LabError(f"no shipped files found under {directory('topologies').parent}; reinstall the lab")
    return copied
