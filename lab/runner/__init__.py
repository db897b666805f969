"""runner: turn an experiment file into cells, run each cell's steps on a real lab, write the results.

    matrix    `plan`: the cells of a selection (or of shard K/N of it), known without an engine;
              `run_experiment`: the selected cells, one lab per (flavor, topology), reset between cells;
              `resume_experiment`: the rest of a run that was killed
    plans     each experiment kind as a list of steps (`CellPlan`)
    steps     the steps: seed, scripts of writes, held appliers, traffic, checks, probes, fix
    cell      `Cell`: runs the steps and keeps the evidence (checks, probes, samples, the story's end)
    outcome   the verdicts, computed from the checks, the history and the rows
    evidence  catch-ups, link snapshots and replication errors: what monitoring saw
    driver    planned clients on their own threads
    sampler   divergence, lag and link state at a fixed interval while traffic runs
    progress  the progress line of each finished cell: its verdict, elapsed time and ETA
"""

from lab.runner.cell import Cell
from lab.runner.matrix import Plan, RunResult, parse_shard, plan, resume_experiment, run_experiment
from lab.runner.plans import CellPlan, plan_cell

__all__ = ["Cell", "CellPlan", "Plan", "RunResult", "parse_shard", "plan", "plan_cell", "resume_experiment",
           "run_experiment"]
