"""The experiment's view of divergence: compare a table across every DC's primary with the lab's checker."""

from __future__ import annotations

import pandas as pd

from lab.cluster import Lab


def compare_dcs(lab: Lab, table: str) -> pd.DataFrame:
    """One row per diverged key (see lab.checker.CheckResult.rows). Replication must be caught up first."""
    from lab.checker import compare_table

    endpoints = {dc: lab.server(name).endpoint for dc, name in lab.topology.dcs.items()}
    return compare_table(endpoints, table, snapshot=True).rows
