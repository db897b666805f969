"""The experiment's view of divergence: compare a table across every DC's primary with the lab's checker."""

from __future__ import annotations

from lab.checker import CheckResult, compare_table
from lab.cluster import Lab


def compare_dcs(lab: Lab, table: str) -> CheckResult:
    """Compare every DC's primary; `.rows` has one row per diverged key. Catch up first for a settled view."""
    endpoints = {dc: lab.server(name).endpoint for dc, name in lab.topology.dcs.items()}
    return compare_table(endpoints, table, snapshot=True)
