"""The single cell engine gives the same outcomes as the two engines before it, on real servers.

The baseline (tests/outcomes/baseline) is two runs of the code before the change; counts that differed
between those two runs depend on timing and are left out. Here the MariaDB half of the deterministic
incident cells runs again (the fastest flavor); tests/outcomes/check_outcomes.py reruns every selection.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from outcomes.check_outcomes import ROOT, compare

from lab import experiments
from lab.runner import run_experiment

FLAVOR = "mariadb:10.11"


def test_deterministic_incident_cells_match_the_baseline(tmp_path: Path) -> None:
    only = experiments.parse_only(["mode=deterministic,version_order=dc1_newer,topology=active-passive|active-active",
                                   f"flavor={FLAVOR}"])
    result = run_experiment(ROOT / "experiments" / "wix-incident.yaml", only=only, results_root=tmp_path,
                            progress=lambda _message: None)
    now = pd.read_csv(result.directory.path / "cells.csv", dtype=str, keep_default_na=False).set_index("cell")
    comparison = compare("incident", now, subset=True)
    assert comparison.cells == 18 and not comparison.missing_cells
    assert not comparison.changed, comparison.changed
