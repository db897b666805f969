"""Run directories: find them, open them, and refuse a results format this lab cannot read (one line)."""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lab.errors import LabError
from lab.results import schema
from lab.results.writer import lab_version

SUPPORTED_FORMATS = schema.SUPPORTED_FORMATS
_GLOB_CHARACTERS = frozenset("*?[")


class ResultsError(LabError):
    """Results that cannot be loaded; `str()` is one line naming the directory and what to do."""


class ResultsWarning(UserWarning):
    """Something in a run was skipped but the rest loaded (e.g. a history line cut off by a crash)."""


@dataclass(frozen=True)
class Run:
    """One run directory and its run.json, validated."""

    path: Path
    meta: dict[str, Any] = field(repr=False)
    name: str = ""

    @property
    def results_format(self) -> int:
        return int(self.meta["results_format"])

    @property
    def started(self) -> float:
        value = self.meta.get("started")
        return float(value) if isinstance(value, (int, float)) else 0.0

    @property
    def servers(self) -> str:
        """The server versions each flavor was (`mariadb:10.11: mariadb 10.11.19`), or `not recorded` for runs
        written before the lab kept them."""
        known = self.meta.get("server_versions") or {}
        return "; ".join(f"{flavor}: {', '.join(versions)}" for flavor, versions in known.items()) or "not recorded"

    @property
    def kind(self) -> str:
        """incident, timeline or workload: from run.json, or the stored experiment file for older runs."""
        if self.meta.get("kind"):
            return str(self.meta["kind"])
        data = self._experiment()
        return str(data.get("kind", "incident")) if isinstance(data, dict) else "incident"

    def _experiment(self) -> Any:
        experiment = self.path / schema.EXPERIMENT_COPY
        try:
            return yaml.safe_load(experiment.read_text()) if experiment.exists() else None
        except (OSError, yaml.YAMLError):
            return None

    def cell_status(self, cell: str) -> dict[str, Any]:
        """A cell's status.json (link snapshots at each check, replication errors); {} when absent or cut off."""
        path = self.path / schema.CELLS_DIR / cell / schema.STATUS_FILE
        try:
            data = json.loads(path.read_text()) if path.exists() else {}
        except (OSError, json.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def matrix_order(self) -> dict[str, list[str]]:
        """The experiment's matrix as written in its file: the natural order of every parameter's values."""
        data = self._experiment()
        matrix = data.get("matrix") if isinstance(data, dict) else None
        if not isinstance(matrix, dict):
            return {}
        return {str(k): [str(v) for v in values] for k, values in matrix.items() if isinstance(values, list)}


def open_run(path: str | Path) -> Run:
    """Validate one run directory. Raises ResultsError with a one-line message."""
    path = Path(path)
    meta_file = path / schema.RUN_FILE
    if not meta_file.is_file():
        raise ResultsError(f"{path}: not a run directory (no run.json); pass a directory written by `lab run`")
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{meta_file}: unreadable run.json ({exc}); the run may have been interrupted "
                           "while writing it") from None
    if not isinstance(meta, dict):
        raise ResultsError(f"{meta_file}: run.json is not a JSON object")
    check_format(path, meta)
    return Run(path=path, meta=meta, name=path.name)


def check_format(path: Path, meta: dict[str, Any]) -> None:
    """Refuse formats this lab does not know, saying which lab wrote them and which it can read."""
    found = meta.get("results_format")
    writer = meta.get("lab_version", "an unknown lab version")
    readable = ", ".join(str(f) for f in sorted(SUPPORTED_FORMATS))
    if isinstance(found, bool) or not isinstance(found, int):
        raise ResultsError(f"{path}: run.json has no valid results_format (found {found!r}, written by lab "
                           f"{writer}); this lab {lab_version()} reads format {readable}")
    if found > max(SUPPORTED_FORMATS):
        raise ResultsError(f"{path}: results_format {found} (written by lab {writer}) is newer than this lab "
                           f"{lab_version()} can read (format {readable}); upgrade mysql-replication-lab to load it")
    if found not in SUPPORTED_FORMATS:
        raise ResultsError(f"{path}: unknown results_format {found} (written by lab {writer}); "
                           f"this lab {lab_version()} reads format {readable}")


def _expand(source: str | Path) -> list[Path]:
    text = os.path.expanduser(str(source))
    if _GLOB_CHARACTERS & set(text):
        matches = sorted(Path(p) for p in glob.glob(text) if Path(p).is_dir())
        if not matches:
            raise ResultsError(f"{text}: the pattern matches no directory")
        return matches
    path = Path(text)
    if not path.exists():
        raise ResultsError(f"{path}: no such directory")
    if not path.is_dir():
        raise ResultsError(f"{path}: not a directory; pass a run directory, a parent of runs, or a glob")
    return [path]


def find_runs(sources: str | Path | Iterable[str | Path]) -> list[Run]:
    """Every run under `sources`, oldest first.

    Each source is a run directory, a directory whose subdirectories are runs (such as `results/`),
    or a glob of either. Runs are ordered by their start time, so the last one is the latest.
    """
    items = [sources] if isinstance(sources, (str, Path)) else list(sources)
    if not items:
        raise ResultsError("no results directory given")
    found: dict[Path, Run] = {}
    for item in items:
        for directory in _expand(item):
            if (directory / schema.RUN_FILE).exists():
                candidates = [directory]
            else:
                candidates = sorted(child for child in directory.iterdir() if (child / schema.RUN_FILE).is_file())
                if not candidates and not _GLOB_CHARACTERS & set(str(item)):
                    raise ResultsError(f"{directory}: no run directories in it (none has a run.json); "
                                       "run `lab run EXPERIMENT` or `lab demo` first")
            for candidate in candidates:
                found.setdefault(candidate.resolve(), open_run(candidate))
    if not found:
        raise ResultsError(f"{', '.join(str(i) for i in items)}: no run directories found")
    runs = sorted(found.values(), key=lambda run: (run.started, run.name))
    return _unique_names(runs)


def _unique_names(runs: list[Run]) -> list[Run]:
    """Name runs by their directory; when two directories share a name, prefix the parent to tell them apart."""
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.path.name] = counts.get(run.path.name, 0) + 1
    return [Run(run.path, run.meta, run.path.name if counts[run.path.name] == 1
                else f"{run.path.parent.name}/{run.path.name}") for run in runs]


def latest_run(sources: str | Path | Iterable[str | Path]) -> Run:
    """The most recently started run under `sources` (a run directory is its own latest run)."""
    return find_runs(sources)[-1]


