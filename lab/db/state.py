"""Where a running lab keeps what containers cannot tell: its topology and per-run passwords (0600)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from lab.db.credentials import Credentials


def state_dir() -> Path:
    base = os.environ.get("LAB_STATE_DIR") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "mysql-lab"
    )
    return Path(base)


def _path(lab_name: str) -> Path:
    return state_dir() / f"{lab_name}.json"


def save(lab_name: str, topology_file: str, overrides: dict[str, str | None], credentials: Credentials) -> None:
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = _path(lab_name)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"topology_file": topology_file, "overrides": overrides, "credentials": asdict(credentials)},
                  handle)


def load(lab_name: str) -> dict | None:
    path = _path(lab_name)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    data["credentials"] = Credentials(**data["credentials"])
    return data


def remove(lab_name: str) -> None:
    _path(lab_name).unlink(missing_ok=True)


def all_names() -> list[str]:
    directory = state_dir()
    return sorted(p.stem for p in directory.glob("*.json")) if directory.exists() else []
