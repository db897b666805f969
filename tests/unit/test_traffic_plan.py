"""The traffic plan is a pure function of the seed: same seed, same operations per client."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from lab.workloads.keys import KeyChooser, KeySpec
from lab.workloads.plan import TrafficSpec, plan
from lab.workloads.shift import ShiftSpec


def spec(**overrides: object) -> TrafficSpec:
    settings = {"rows": 100, "duration": 10, "rate": 100, "clients_per_dc": 2,
                "shift": {"from": "dc1", "to": "dc2", "start": 2, "overlap": 6}}
    settings.update(overrides)
    return TrafficSpec.model_validate(settings)


def test_same_seed_same_sequence_per_client() -> None:
    assert plan(spec(), 7) == plan(spec(), 7)
    assert plan(spec(), 7) != plan(spec(), 8)


def test_shift_moves_traffic_from_source_to_target() -> None:
    operations = [op for ops in plan(spec(), 1).values() for op in ops]
    before = {op.dc for op in operations if op.at < 2}
    after = {op.dc for op in operations if op.at >= 8}
    during = Counter(op.dc for op in operations if 2 <= op.at < 8)
    assert before == {"dc1"} and after == {"dc2"}
    assert during["dc1"] > 0 and during["dc2"] > 0


@pytest.mark.parametrize(("shape", "t", "expected"), [
    ("linear", 0.0, 0.0), ("linear", 5.0, 0.5), ("linear", 10.0, 1.0), ("linear", 20.0, 1.0),
    ("stepped", 0.5, 0.2), ("stepped", 9.99, 0.8), ("stepped", 10.0, 1.0),
])
def test_target_share(shape: str, t: float, expected: float) -> None:
    shift = ShiftSpec.model_validate({"from": "dc1", "to": "dc2", "start": 0, "overlap": 10, "shape": shape,
                                      "steps": 4})
    assert shift.target_share(t) == pytest.approx(expected, abs=0.01)


def test_inserts_use_fresh_keys_and_mix_is_respected() -> None:
    operations = [op for ops in plan(spec(mix={"rmw": 0.5, "insert": 0.25, "delete": 0.25}), 3).values()
                  for op in ops]
    inserts = [op.key for op in operations if op.kind == "insert"]
    assert inserts and min(inserts) > 100 and len(set(inserts)) == len(inserts)
    kinds = Counter(op.kind for op in operations)
    assert kinds["rmw"] > kinds["insert"] > 0 and kinds["delete"] > 0


def test_key_distributions_stay_in_range_and_skew() -> None:
    rng = random.Random(5)
    for distribution in ("uniform", "zipfian", "hot_set"):
        chooser = KeyChooser(KeySpec(distribution=distribution), 1000)
        keys = [chooser.choose(rng) for _ in range(5000)]
        assert min(keys) >= 1 and max(keys) <= 1000
    zipf = KeyChooser(KeySpec(distribution="zipfian"), 1000)
    top = Counter(zipf.choose(rng) for _ in range(5000)).most_common(1)[0][0]
    assert top == 1
    hot = KeyChooser(KeySpec(distribution="hot_set", hot_fraction=0.01, hot_probability=0.9), 1000)
    share_hot = sum(hot.choose(rng) <= 10 for _ in range(5000)) / 5000
    assert 0.85 < share_hot < 0.95
