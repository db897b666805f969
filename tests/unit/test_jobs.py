"""`lab run --jobs N`: the child runs it starts are shards of the same selection and seed, and what it refuses."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lab import experiments
from lab.cli import main as cli
from lab.errors import LabError
from lab.runner import run_experiment
from lab.runner.jobs import job_commands, only_arguments, relay

SELECTION = ["mode=deterministic,version_order=dc1_newer", "topology=active-passive|active-active",
             "binlog_format=STATEMENT|ROW"]


def test_the_selection_reaches_each_job_as_it_was_parsed() -> None:
    keys = experiments.load("wix-incident").parameter_keys()
    only = experiments.parse_only(SELECTION, keys)
    arguments = only_arguments(only)
    assert arguments[::2] == ["--only"] * len(only)
    assert experiments.parse_only(arguments[1::2], keys) == only


def test_a_jobs_progress_is_relayed_under_its_prefix_without_the_parents_left_out_lines() -> None:
    shown: list[str] = []
    for line in ["[lab] left out: galera-3 on mysql:9.7: Galera needs MariaDB\n", "[lab] starting ring-3\n"]:
        relay(line, 2, 4, shown.append)
    assert shown == ["[job 2/4] starting ring-3"]


def test_job_k_runs_shard_k_of_n_with_the_runs_seed(tmp_path: Path) -> None:
    only = experiments.parse_only(SELECTION)
    commands = job_commands(Path("x.yaml"), only, 42, 3, tmp_path)
    assert len(commands) == 3
    for index, command in enumerate(commands, start=1):
        assert command[:4] == [sys.executable, "-m", "lab", "run"]
        assert command[command.index("--shard") + 1] == f"{index}/3"
        assert command[command.index("--seed") + 1] == "42"
        assert command[command.index("--results") + 1] == str(tmp_path)
        assert "--json" in command and "--no-plots" in command


@pytest.mark.parametrize("extra", [["--shard", "1/2"], ["--jobs", "0"], ["--jobs", "x"]])
def test_jobs_with_a_shard_or_a_bad_count_is_a_one_line_error(tmp_path: Path, extra: list[str]) -> None:
    result = CliRunner().invoke(cli, ["run", "wix-incident", "--jobs", "2", "--results", str(tmp_path / "r"),
                                      *extra])
    assert result.exit_code == 2, result.output
    assert "--jobs" in result.output
    assert not (tmp_path / "r").exists()


def test_jobs_with_resume_is_refused_before_reading_the_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", "--resume", str(tmp_path), "--jobs", "2"])
    assert result.exit_code == 2 and "--jobs 2" in result.output and "--resume" in result.output


def test_a_custom_checker_does_not_reach_child_jobs(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="--jobs"):
        run_experiment("wix-incident", only=experiments.parse_only(SELECTION), results_root=tmp_path, jobs=2,
                       compare=lambda lab, table: None)   # type: ignore[arg-type,return-value]
    assert not list(tmp_path.iterdir())
