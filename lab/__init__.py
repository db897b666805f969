"""A multi-datacenter MySQL/MariaDB replication fault-injection lab: real servers, forced overlaps, exact divergence.

The public API, importable from `lab` (each name is loaded on first use, so `import lab` stays light):

    Lab, load_topology                  start a topology of real servers (lab.db)
    load_experiment, run_experiment     an experiment file and its matrix (lab.experiments, lab.runner)
    compare_table, compare_checks       the divergence checker, usable against any servers (lab.checker)
    Endpoint                            how to reach one DC's server
    Results, load_results               a run's results as pandas DataFrames (lab.results)
    build_fault, FaultContext, FaultSet  faults by their parameters (lab.faults)
    LabError, ConfigError               what every failure raises: one line naming what failed

Everything else is internal and may change between versions.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Lab": ("lab.db.lab", "Lab"),
    "load_topology": ("lab.db.topology", "load"),
    "load_experiment": ("lab.experiments", "load"),
    "run_experiment": ("lab.runner.matrix", "run_experiment"),
    "resume_experiment": ("lab.runner.matrix", "resume_experiment"),
    "compare_table": ("lab.checker.compare", "compare_table"),
    "compare_checks": ("lab.checker.healing", "compare_checks"),
    "Endpoint": ("lab.db.sql", "Endpoint"),
    "Results": ("lab.results.api", "Results"),
    "load_results": ("lab.results", "load"),
    "build_fault": ("lab.faults.spec", "build"),
    "FaultContext": ("lab.faults.context", "FaultContext"),
    "FaultSet": ("lab.faults.faultset", "FaultSet"),
    "LabError": ("lab.errors", "LabError"),
    "ConfigError": ("lab.errors", "ConfigError"),
}

__all__ = [
    "ConfigError", "Endpoint", "FaultContext", "FaultSet", "Lab", "LabError", "Results", "build_fault",
    "compare_checks", "compare_table", "load_experiment", "load_results", "load_topology", "resume_experiment",
    "run_experiment",
]

if TYPE_CHECKING:  # for type checkers and editors; at run time the names load lazily
    from lab.checker.compare import compare_table
    from lab.checker.healing import compare_checks
    from lab.db.lab import Lab
    from lab.db.sql import Endpoint
    from lab.db.topology import load as load_topology
    from lab.errors import ConfigError, LabError
    from lab.experiments import load as load_experiment
    from lab.faults.context import FaultContext
    from lab.faults.faultset import FaultSet
    from lab.faults.spec import build as build_fault
    from lab.results import load as load_results
    from lab.results.api import Results
    from lab.runner.matrix import resume_experiment, run_experiment


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lab' has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    value = getattr(import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
