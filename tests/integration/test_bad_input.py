"""A corpus of hostile input: every file and command line is refused with exit 2 and one line naming the field,
before anything starts: no container, no network, no results folder.

The corpus is in the repository: tests/unit/bad_topologies, tests/unit/bad_experiments (each file's first
line names the field it must be refused for) and BAD_COMMANDS below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cli import entry
from lab.db import engine, labels

UNIT = Path(__file__).resolve().parents[1] / "unit"
TOPOLOGIES = sorted((UNIT / "bad_topologies").glob("*.yaml"))
EXPERIMENTS = sorted((UNIT / "bad_experiments").glob("*.yaml"))
# (argv, what the one line must name)
BAD_COMMANDS: list[tuple[list[str], str]] = [
    (["run", "experiments/wix-incident.yaml", "--only", "guard=strikt"],
     "--only guard=strikt: no cell of the matrix has it (guard values: strict, gte, lww)"),
    (["run", "experiments/wix-incident.yaml", "--only", "colour=red"], "--only"),
    (["run", "experiments/wix-incident.yaml", "--only", "guard"], "--only 'guard'"),
    (["run", "experiments/wix-incident.yaml", "--expect", "stuck_rows>many"], "--expect"),
    (["run", "experiments/wix-incident.yaml", "--expect", "no_such_column==0"], "unknown column"),
    (["run", "experiments/wix-incident.yaml", "--seed", "true"], "--seed"),
    (["run", "experiments/wix-incident.yaml", "--seed", "1e99"], "--seed"),
    (["run", "experiments/no-such-experiment.yaml"], "does not exist"),
    (["run"], "EXPERIMENT"),
    (["run", "wix-incident", "--shard", "0/3"], "--shard '0/3'"),
    (["run", "wix-incident", "--shard", "4/3"], "--shard '4/3'"),
    (["run", "wix-incident", "--shard", "half"], "--shard 'half'"),
    (["run", "wix-incident", "--dry-run", "--only", "colour=red"], "--only"),
    (["run", "--resume", "tests", "--shard", "1/2"], "--resume"),
    (["run", "no-such-shipped-experiment"], "does not exist"),
    (["validate", "tests/unit/bad_experiments/fault_direction_sideways.yaml"], "timeline.0.fault.direction"),
    (["validate", "no-such-file.yaml"], "does not exist"),
    (["schema", "nonsense"], "schema"),
    (["report", "tests", "tests/unit"], "tests: not a run directory to merge"),
    (["run", "experiments/wix-incident.yaml", "--resume", "."], "--resume"),
    (["run", "--resume", "tests"], "--resume tests"),
    (["demo", "--flavor", "junk"], "--flavor junk"),
    (["demo", "--flavor", "mysql:8.0"], "--flavor mysql:8.0"),
    (["demo", "--only", "mode=concurrent"], "--only mode=concurrent: the demo runs only mode=deterministic"),
    (["run", "wix-incident", "--only", "guard=nope"], "guard values: strict, gte, lww"),
    (["run", "wix-incident", "--only", "strategy=next"], "KEY one of topology, binlog_format, guard"),
    (["run", "wix-incident", "--expect", "nope>1"], "numeric columns of this experiment: overlap_updates"),
    (["down", "--lab", "x", "--all"], "--all"),
    (["up", "topologies/no-such-topology.yaml"], "does not exist"),
    (["up", "topologies/active-active.yaml", "--flavor", "postgres:16"], "--flavor"),
    (["up", "topologies/active-active.yaml", "--binlog-format", "ROWS"], "--binlog-format"),
    (["up", "topologies/active-active.yaml", "--lab", "../escape"], "--lab '../escape'"),
    (["up", "topologies/active-active.yaml", "--lab", "a`b`"], "--lab"),
    (["up", "topologies/active-active.yaml", "--lab", "x" * 40], "--lab"),
    (["status", "--lab", "it's"], "is not a lab name"),
    (["down", "--lab", "../../etc/passwd"], "is not a lab name"),
    (["status", "t-positional"], "unexpected extra argument"),
    (["check", "--table", "t", "--dc", "dc1=postgres://u@h/db", "--dc", "dc2=mysql://u@h/db"], "--dc dc1"),
    (["check", "--table", "t", "--dc", "dc1=mysql://u:secret@h/db", "--dc", "dc2=mysql://u@h/db"], "password"),
    (["check", "--table", "t", "--dc", "dc1=mysql://u@h/db"], "at least two"),
    (["check", "--table", "t", "--dc", "dc1", "--dc", "dc2=mysql://u@h/db"], "--dc 'dc1'"),
    (["check", "--table", "t", "--dc", "dc1=mysql://u@h:99999/db", "--dc", "dc2=mysql://u@h/db"], "port"),
    (["images", "ensure", "oracle:23"], "oracle"),
    (["report", "no/such/run"], "no/such/run"),
    (["run", "experiments/wix-incident.yaml", "--no-such-option"], "--no-such-option"),
]


def labelled() -> tuple[int, int]:
    api = engine.client().api
    selector = {"label": [f"{labels.MANAGED}=true"]}
    return len(api.containers(all=True, filters=selector)), len(api.networks(filters=selector))


def refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the `lab` command in-process; it must exit 2 with one line on stderr. Returns that line."""
    with pytest.raises(SystemExit) as done:
        entry(argv)
    assert done.value.code == 2, argv
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def nothing_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    return tmp_path / "results"


def test_the_corpus_has_at_least_sixty_inputs() -> None:
    assert len(TOPOLOGIES) + len(EXPERIMENTS) + len(BAD_COMMANDS) >= 60


@pytest.mark.parametrize("path", TOPOLOGIES, ids=lambda p: p.stem)
def test_a_bad_topology_starts_nothing(path: Path, capsys: pytest.CaptureFixture[str], nothing_starts: Path) -> None:
    before = labelled()
    line = refused(capsys, ["up", str(path)])
    assert f"{path}: {path.read_text().splitlines()[0].removeprefix('# field: ').strip()}" in line
    assert labelled() == before


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_a_bad_experiment_starts_nothing(path: Path, capsys: pytest.CaptureFixture[str],
                                         nothing_starts: Path) -> None:
    before = labelled()
    line = refused(capsys, ["run", str(path), "--results", str(nothing_starts)])
    assert f"{path}: {path.read_text().splitlines()[0].removeprefix('# field: ').strip()}:" in line
    assert labelled() == before and not nothing_starts.exists()
    # `lab validate` and `lab run --dry-run` check the same schema, and say the same
    assert refused(capsys, ["validate", str(path)]) == line
    assert refused(capsys, ["run", str(path), "--dry-run", "--results", str(nothing_starts)]) == line


@pytest.mark.parametrize("path", TOPOLOGIES, ids=lambda p: p.stem)
def test_validate_refuses_a_bad_topology_as_up_does(path: Path, capsys: pytest.CaptureFixture[str],
                                                    nothing_starts: Path) -> None:
    up = refused(capsys, ["up", str(path)])
    if "servers" in path.read_text() or "replication" in path.read_text():
        assert refused(capsys, ["validate", str(path)]) == up


@pytest.mark.parametrize(("argv", "named"), BAD_COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_a_bad_command_line_starts_nothing(argv: list[str], named: str, capsys: pytest.CaptureFixture[str],
                                           nothing_starts: Path) -> None:
    before = labelled()
    command = [*argv, "--results", str(nothing_starts)] if argv[:1] in (["run"], ["demo"]) else argv
    line = refused(capsys, command)
    assert named in line, line
    assert labelled() == before and not nothing_starts.exists()
