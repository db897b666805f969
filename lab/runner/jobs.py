"""Run one experiment's cells in N independent labs at once (`lab run --jobs N`), merged into one run directory.

Job K is a child `lab run --shard K/N` with labs of its own, so jobs share nothing but the engine, and the
parent merges their run directories as if the run had been whole (lab.results.merge). Child processes rather
than threads: a cell's client threads, fault timers and signal handling stay exactly as in a one-job run, and
the jobs do not share one interpreter lock. A run cut short keeps every job's directory; each resumes with
`lab run --resume` and `lab report DIR...` merges them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lab.db import cleanup
from lab.errors import LabError
from lab.results.markdown import write_report
from lab.results.merge import merge
from lab.results.writer import RunDirectory, unique_path

STAGING_PREFIX = ".jobs-"          # results/.jobs-<experiment>-<time>/: the jobs' own run directories
STOP_GRACE_SECONDS = 180.0         # a stopped job removes its labs first (MySQL: a few seconds per server)
CHILD_PREFIX = "[lab] "            # a child's progress lines, shown under the job's own prefix instead
LEFT_OUT = "left out: "          # a cell the matrix cannot run; the parent names each once, so jobs do not repeat it


def only_arguments(only: dict[str, set[str]]) -> list[str]:
    """The selection as `--only` options a child parses back to the same dict."""
    return [arg for key, values in sorted(only.items()) for arg in ("--only", f"{key}={'|'.join(sorted(values))}")]


def job_commands(experiment_file: Path, only: dict[str, set[str]], seed: int, jobs: int,
                 staging: Path) -> list[list[str]]:
    """One `lab run --shard K/N` per job, with the parent's seed and selection; the parent draws the plots."""
    return [[sys.executable, "-m", "lab", "run", str(experiment_file), "--shard", f"{index}/{jobs}",
             "--seed", str(seed), "--results", str(staging), "--no-plots", "--json", *only_arguments(only)]
            for index in range(1, jobs + 1)]


@dataclass
class Job:
    """One child run: its process, what it printed on stdout (its JSON outcome) and its run directory."""

    index: int
    process: subprocess.Popen[str]
    stdout: list[str] = field(default_factory=list)
    pumps: list[threading.Thread] = field(default_factory=list)

    @property
    def outcome(self) -> dict:
        try:
            return json.loads("".join(self.stdout) or "{}")
        except json.JSONDecodeError:
            return {}


def _pump(stream: object, sink: Callable[[str], None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink(line)


def relay(line: str, index: int, jobs: int, progress: Callable[[str], None]) -> None:
    """A child's progress line under the job's prefix; its `left out:` lines are the parent's, already shown."""
    text = line.rstrip().removeprefix(CHILD_PREFIX)
    if not text.startswith(LEFT_OUT):
        progress(f"[job {index}/{jobs}] {text}")


def _start(index: int, jobs: int, command: list[str], progress: Callable[[str], None]) -> Job:
    # A session of its own: Ctrl-C reaches the parent only, which then stops each job once, cleanly.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    job = Job(index, process)
    job.pumps = [threading.Thread(target=_pump, args=(process.stdout, job.stdout.append), daemon=True),
                 threading.Thread(target=_pump, args=(process.stderr, lambda line: relay(line, index, jobs, progress)),
                                  daemon=True)]
    for pump in job.pumps:
        pump.start()
    return job


def _stop(jobs: list[Job]) -> None:
    """SIGTERM each job still running (it removes its labs and records what it has), then wait for it."""
    for job in jobs:
        if job.process.poll() is None:
            job.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for job in jobs:
        try:
            job.process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            job.process.kill()


def run_jobs(experiment_file: Path, experiment_name: str, only: dict[str, set[str]], seed: int, jobs: int,
             results_root: Path, progress: Callable[[str], None]) -> tuple[RunDirectory, bool]:
    """Run the selection as `jobs` shards at once and merge them into results_root/<experiment>-<time>.
    Returns the merged run and whether every job completed. Raises LabError when the jobs' runs cannot be
    merged (a job that could not start), naming where they are."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    staging = results_root / f"{STAGING_PREFIX}{experiment_name}-{stamp}-{os.getpid()}"
    staging.mkdir(parents=True)
    started: list[Job] = []
    try:
        with cleanup.sigterm_as_interrupt():
            for index, command in enumerate(job_commands(experiment_file, only, seed, jobs, staging), start=1):
                started.append(_start(index, jobs, command, progress))
            for job in started:
                job.process.wait()
    except BaseException:
        _stop(started)
        progress(f"stopped; each job's results stay in {staging}: `lab run --resume DIR` each, then "
                 f"`lab report {staging}/*` merges them")
        raise
    for job in started:
        for pump in job.pumps:
            pump.join(timeout=10)
    shards = [Path(job.outcome["run_dir"]) for job in started if job.outcome.get("run_dir")]
    if len(shards) != jobs:
        codes = ", ".join(f"job {job.index} exit {job.process.returncode}" for job in started
                          if not job.outcome.get("run_dir"))
        raise LabError(f"--jobs {jobs}: {codes} without a run directory (see its lines above); what the other "
                       f"jobs recorded is in {staging}")
    target = unique_path(results_root / f"{experiment_name}-{stamp}")
    merged = merge(shards, target)
    directory = RunDirectory.open(merged)
    directory.meta.update(argv=sys.argv, jobs=jobs)
    directory.meta.pop("merged_from", None)   # the jobs' directories go: the merged one holds all they recorded
    directory.write_meta()
    write_report(merged)
    shutil.rmtree(staging)
    return directory, all(job.outcome.get("completed") for job in started)

