"""Where a running lab keeps what containers cannot tell: its topology and per-run passwords (0600)."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from lab.db.credentials import Credentials
from lab.db.topology import NAME_PATTERN
from lab.errors import LabError


def state_dir() -> Path:
    base = os.environ.get("LAB_STATE_DIR") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "mysql-lab"
    )
    return Path(base)


def _path(lab_name: str) -> Path:
    if not NAME_PATTERN.match(lab_name):
        raise LabError(f"{lab_name!r} is not a lab name: lowercase letters, digits and dashes, at most 31 characters")
    return state_dir() / f"{lab_name}.json"


def save(lab_name: str, topology_file: str, overrides: dict[str, str | None], credentials: Credentials) -> None:
    write_private(_path(lab_name), json.dumps({"topology_file": topology_file, "overrides": overrides,
                                               "credentials": asdict(credentials)}))


def load(lab_name: str) -> dict | None:
    path = _path(lab_name)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    data["credentials"] = Credentials(**data["credentials"])
    return data


def remove(lab_name: str) -> None:
    _path(lab_name).unlink(missing_ok=True)
    for option_file in state_dir().glob(f"{lab_name}.*.cnf"):
        option_file.unlink(missing_ok=True)


def client_file(lab_name: str, server_name: str) -> Path:
    """Where `lab env` keeps a server's client option file (it holds the password, so 0600, removed with the lab)."""
    return _path(lab_name).with_name(f"{lab_name}.{server_name}.cnf")


def write_private(path: Path, content: str) -> None:
    """Write a file only its owner can read, created 0600 (never world-readable, even for an instant)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)


def all_names() -> list[str]:
    directory = state_dir()
    return sorted(p.stem for p in directory.glob("*.json")) if directory.exists() else []


@contextmanager
def claim(lab_name: str) -> Iterator[None]:
    """Hold a lab's name while it starts (an exclusive lock on <state>/<name>.lock, released at exit or death):
    a second command starting the same name fails at once instead of mixing containers with the first.

    The holder removes the file before it lets go, so no lock file outlives its start. A command that
    opened the file just before it was removed then holds a lock on a file no longer there, so the lock
    only counts once the path still names the very file locked (else it is opened again)."""
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = _path(lab_name).with_suffix(".lock")
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise LabError(f"lab {lab_name!r} is being started by another command; wait for it, or use another "
                           "--lab NAME") from None
        if _names(path, descriptor):
            break
        os.close(descriptor)   # the holder before removed it as it let go: lock the file there now
    try:
        yield
    finally:
        path.unlink(missing_ok=True)   # still held: nobody else holds this file
        os.close(descriptor)  # closing releases the lock


def remove_idle_locks() -> None:
    """The lock files of starts that died without removing theirs (SIGKILL), those no start holds now."""
    directory = state_dir()
    for path in directory.glob("*.lock") if directory.exists() else []:
        try:
            with claim(path.stem):   # taking it removes it as it lets go
                pass
        except LabError:
            pass   # a start holds it (or the name is not a lab's)


def _names(path: Path, descriptor: int) -> bool:
    """Whether `path` is still the file open as `descriptor`."""
    try:
        named, held = os.stat(path), os.fstat(descriptor)
        return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)
    except FileNotFoundError:
        return False
