"""Digest-list comparison: exact whatever the order, including missing, extra and changed rows."""

from __future__ import annotations

import hashlib
import random

import pytest

from lab.checker.digests import count, differing_elements, differing_keys, elements, key_of


def element(key: int, version: int = 0) -> str:
    return f"{key}:{hashlib.sha256(f'{key}/{version}'.encode()).hexdigest()[:16]}"


def scenario(seed: int, size: int = 3000) -> tuple[list[str], list[str], set[str]]:
    rng = random.Random(seed)
    a = [element(k) for k in range(size)]
    changed = set(rng.sample(range(size), 40))
    missing = set(rng.sample(sorted(set(range(size)) - changed), 15))
    b = [element(k, 1) if k in changed else element(k) for k in range(size) if k not in missing]
    extra = [size + 100 + i for i in range(12)]
    for key in extra:
        b.insert(rng.randrange(len(b) + 1), element(key))
    expected = ({element(k) for k in changed | missing} | {element(k, 1) for k in changed}
                | {element(k) for k in extra})
    return a, b, expected


@pytest.mark.parametrize("seed", range(5))
def test_exact_in_key_order(seed: int) -> None:
    a, b, expected = scenario(seed)
    assert differing_elements(a, b) == expected


@pytest.mark.parametrize("seed", range(3))
def test_exact_in_any_order(seed: int) -> None:
    a, b, expected = scenario(seed)
    random.Random(seed).shuffle(b)
    assert differing_elements(a, b) == expected


@pytest.mark.parametrize("rate", [0.1, 0.5, 1.0])
def test_exact_when_most_rows_changed(rate: float) -> None:
    """Dense divergence (the pair step: a changed row next to realigned rows) stays exact, with runs of
    changed, missing and extra rows next to one another."""
    rng = random.Random(int(rate * 10))
    a, b, expected = [], [], set()
    for key in range(4000):
        roll = rng.random()
        if roll < rate * 0.8:
            a.append(element(key))
            b.append(element(key, 1))
            expected |= {element(key), element(key, 1)}
        elif roll < rate * 0.9:
            a.append(element(key))
            expected.add(element(key))
        elif roll < rate:
            b.append(element(key, 2))
            expected.add(element(key, 2))
        else:
            a.append(element(key))
            b.append(element(key))
    assert differing_elements(a, b) == expected


def test_swapped_values_and_identical_changes_are_found() -> None:
    a = ["1:aaaa", "2:bbbb", "3:cccc", "4:dddd"]
    b = ["1:bbbb", "2:aaaa", "3:cccc", "4:dddd"]        # two rows swap their hashes
    assert {key_of(e) for e in differing_elements(a, b)} == {"1", "2"}


def test_edges() -> None:
    assert differing_elements([], []) == set()
    assert differing_elements(["1:aa"], []) == {"1:aa"}
    assert count(None) == 0 and count("") == 0 and count("1:aa,2:bb") == 2 and count(b"1:aa") == 1
    assert elements(b"1:aa,2:bb") == ["1:aa", "2:bb"]
    assert key_of("41:42:0011223344556677") == "41:42"


def test_three_dcs_report_keys_differing_from_the_reference_anywhere() -> None:
    reference = ["1:aa", "2:bb", "3:cc"]
    assert differing_keys({"dc1": reference, "dc2": list(reference), "dc3": ["1:aa", "2:xx"]}) == {"2", "3"}
    assert differing_keys({"dc1": reference, "dc2": list(reference)}) == set()
