"""The CLI behaves the same everywhere: help on every command and option, exit codes in every command's help,
one way to name a lab, quoting-safe examples, narrowing (never widening) selections, and an idempotent
`lab down`. None of these needs an engine."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from lab.cli import entry, main
from lab.runner.progress import RunProgress, clock


def commands(group: click.Group = main, prefix: str = "lab") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found += commands(command, path)
        else:
            found.append((path, command))
    return found


COMMANDS = commands()
LAB_COMMANDS = {"lab status", "lab down", "lab sql", "lab env", "lab check", "lab repair"}


def test_every_command_and_option_has_help() -> None:
    missing = [path for path, command in COMMANDS if not (command.help or "").strip()]
    missing += [f"{path} {param.opts[0]}" for path, command in COMMANDS for param in command.params
                if isinstance(param, click.Option) and not (param.help or "").strip()]
    assert not missing
    assert len(COMMANDS) >= 15


def help_text(path: str, capsys: pytest.CaptureFixture[str]) -> str:
    try:
        entry([*path.split()[1:], "--help"])
    except SystemExit as done:
        assert done.code == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS])
def test_every_command_states_its_exit_codes(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(path, capsys)
    assert "Exit codes:" in text and " 0 " in text and " 2 " in text, text


def test_a_running_lab_is_named_one_way() -> None:
    """--lab NAME on every command that acts on a running lab, and on `lab up` for the new lab's name; no
    positional NAME and no --name anywhere."""
    by_path = dict(COMMANDS)
    for path in [*LAB_COMMANDS, "lab up"]:
        options = {opt for param in by_path[path].params for opt in getattr(param, "opts", [])}
        assert "--lab" in options, path
    for path, command in COMMANDS:
        names = {param.name for param in command.params}
        assert "name" not in names and "--name" not in {o for p in command.params for o in p.opts}, path


def test_examples_in_help_are_quoting_safe(capsys: pytest.CaptureFixture[str]) -> None:
    """A `|` or `>` in an unquoted example would be a pipe or a redirection once pasted into a shell."""
    for path in ("lab run", "lab demo"):
        text = help_text(path, capsys)
        assert "--only guard=strict --only guard=gte" in text
        assert "--expect 'stuck_rows>0'" in text
        for word in text.split():
            if word.startswith("--expect="):
                pytest.fail(f"unquoted --expect example in {path}: {word}")


def dry_run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    entry([*argv, "--dry-run", "--json"])
    return json.loads(capsys.readouterr().out)


def test_demo_only_narrows_the_demo_selection(capsys: pytest.CaptureFixture[str]) -> None:
    whole = dry_run(capsys, ["demo"])["cells"]
    strict = dry_run(capsys, ["demo", "--only", "guard=strict"])["cells"]
    assert len(whole) == 18
    assert strict == [cell for cell in whole if cell["guard"] == "strict"] and len(strict) == 6
    both = dry_run(capsys, ["demo", "--only", "guard=strict", "--only", "guard=gte", "--only", "binlog_format=ROW"])
    assert {(c["guard"], c["binlog_format"]) for c in both["cells"]} == {("strict", "ROW"), ("gte", "ROW")}
    assert {c["mode"] for c in both["cells"]} == {"deterministic"}


def test_repeated_only_is_a_union_of_values_and_an_intersection_of_keys(
        capsys: pytest.CaptureFixture[str]) -> None:
    repeated = dry_run(capsys, ["run", "wix-incident", "--only", "guard=strict", "--only", "guard=gte",
                                "--only", "mode=deterministic", "--only", "topology=active-active"])["cells"]
    piped = dry_run(capsys, ["run", "wix-incident", "--only", "guard=strict|gte,mode=deterministic",
                             "--only", "topology=active-active"])["cells"]
    assert repeated == piped
    assert {c["guard"] for c in repeated} == {"strict", "gte"} and {c["mode"] for c in repeated} == {"deterministic"}


def test_down_with_nothing_up_is_a_no_op(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A blind cleanup step: no lab is up (an empty state directory), so nothing is asked of the engine."""
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")   # would fail loudly if the engine were asked
    entry(["down"])
    assert "nothing to remove" in capsys.readouterr().err


def test_progress_has_elapsed_time_an_eta_and_the_verdict() -> None:
    now = [100.0]
    shown = RunProgress(total=4, done_before=1, now=lambda: now[0])
    summary = {"status": "completed", "diverged_after_overlap": 2, "stuck_rows": 1, "lost_updates": 0,
               "replication_errors": 0, "seconds": 10.0}
    now[0] = 130.0
    first = shown.line("cell-a", summary)
    assert first == "[2/4 elapsed 0:30, ETA 1:00] cell-a: diverged 2, stuck 1, lost 0, repl errors 0 (10.0s)"
    now[0] = 190.0
    assert shown.line("cell-b", {"status": "failed", "error": "boom"}).startswith("[3/4 elapsed 1:30, ETA 0:45] ")
    now[0] = 200.0
    assert shown.line("cell-c", summary).startswith("[4/4 elapsed 1:40, done] cell-c")
    assert clock(3725) == "1:02:05"
