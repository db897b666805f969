"""A lab name's start lock (lab.db.state.claim): one holder at a time, and no lock file left once it is let go."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lab.db import state
from lab.errors import LabError


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_a_second_start_of_the_same_name_fails_at_once_and_none_lingers(state_dir: Path) -> None:
    with state.claim("pair"):
        assert (state_dir / "pair.lock").exists()
        with pytest.raises(LabError, match=r"^lab 'pair' is being started by another command; .*--lab NAME$"), \
                state.claim("pair"):
            pass
        with state.claim("other"):   # another name is not held up
            pass
    assert list(state_dir.iterdir()) == []
    with state.claim("pair"):        # free again once let go
        pass
    assert list(state_dir.iterdir()) == []


def test_a_lock_on_a_file_already_removed_does_not_count(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The race the removal opens: a command opens the lock file, the holder removes it and lets go, and the
    command then locks a file no longer there; it must open the path again, or two commands would hold the
    name at once (one on the removed file, one on a new one)."""
    state_dir.mkdir(mode=0o700)
    stale = state_dir / "pair.lock"
    real_open, opened = os.open, []

    def open_then_lose(path: object, flags: int, mode: int = 0o777) -> int:
        descriptor = real_open(path, flags, mode)
        if not opened:            # the first open: the file is removed before it is locked
            os.unlink(path)       # type: ignore[arg-type]
        opened.append(descriptor)
        return descriptor

    stale.touch()
    monkeypatch.setattr(state.os, "open", open_then_lose)
    with state.claim("pair"):
        assert len(opened) == 2 and (state_dir / "pair.lock").exists()
        monkeypatch.setattr(state.os, "open", real_open)
        with pytest.raises(LabError), state.claim("pair"):   # the file now there is the one held
            pass
    assert list(state_dir.iterdir()) == []


def test_down_all_clears_lock_files_no_start_holds(state_dir: Path) -> None:
    state_dir.mkdir(mode=0o700)
    for name in ("killed-1", "killed-2", "Not A Lab"):
        (state_dir / f"{name}.lock").touch()
    with state.claim("starting"):
        state.remove_idle_locks()
        assert sorted(p.name for p in state_dir.iterdir()) == ["Not A Lab.lock", "starting.lock"]
    assert [p.name for p in state_dir.iterdir()] == ["Not A Lab.lock"]
