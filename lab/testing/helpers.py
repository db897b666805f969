"""What a test does with a lab: write on one DC, hold the appliers while DCs write, wait, and assert with the checker.

Every assertion compares the DCs with the lab's own divergence checker after catch-up, so a test states
what it expects of the servers, and the failure message names the keys that differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from lab.db.lab import Lab
from lab.faults import FaultContext, FaultSet, HoldAppliers
from lab.runner.evidence import compare_dcs


def write(lab: Lab, dc: str, *statements: str) -> None:
    """Run statements on a DC's primary, in the lab's schema, with the binary log on (they replicate)."""
    lab.primary(dc).execute(*statements)


def caught_up(lab: Lab, timeout: float = 60.0) -> None:
    """Wait until every replica applied everything; fail the test with the lab's own summary if not."""
    result = lab.catch_up(timeout=timeout)
    assert result.caught_up, result.summary()


@contextmanager
def held_appliers(lab: Lab) -> Iterator[None]:
    """Inside the block no DC applies what the others write (the incident's forced overlap); at its end the
    appliers replay it all, and the block waits until they have. The block starts from DCs in sync: what was
    written before it has replicated first."""
    caught_up(lab)
    with FaultSet(FaultContext(lab)) as faults:
        faults.start(HoldAppliers(FaultContext(lab)))
        yield
    caught_up(lab)


def diverged_keys(lab: Lab, table: str) -> set[tuple]:
    """The primary keys of `table` that differ between the DCs, after catch-up."""
    caught_up(lab)
    return compare_dcs(lab, table).keys


def assert_in_sync(lab: Lab, table: str) -> None:
    assert_diverged(lab, table, [])


def assert_diverged(lab: Lab, table: str, keys: Iterable[object]) -> None:
    """Exactly these keys differ (a key is a value, or a tuple for a composite primary key)."""
    expected = {key if isinstance(key, tuple) else (key,) for key in keys}
    found = diverged_keys(lab, table)
    wanted = f"exactly keys {sorted(expected)} to differ" if expected else "the DCs in sync"
    assert found == expected, f"{table}: expected {wanted}, found {sorted(found) or 'none'} differing"
