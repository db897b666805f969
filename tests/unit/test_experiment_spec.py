"""Experiment files: shipped ones load, bad ones fail with one line naming file and field, --only selects."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import ConfigError
from lab.experiment import spec

ROOT = Path(__file__).resolve().parents[2]
BAD = sorted((Path(__file__).parent / "bad_experiments").glob("*.yaml"))


@pytest.mark.parametrize("path", sorted((ROOT / "experiments").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_experiments_load(path: Path) -> None:
    experiment = spec.load(path)
    assert experiment.cells()


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_experiment_is_one_line_naming_the_field(path: Path) -> None:
    expected_field = path.read_text().splitlines()[0].removeprefix("# field: ").strip()
    with pytest.raises(ConfigError) as failure:
        spec.load(path)
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {expected_field}:"), message


def test_wix_incident_matrix_and_selection() -> None:
    experiment = spec.load(ROOT / "experiments" / "wix-incident.yaml")
    cells = experiment.cells()
    assert len(cells) == 3 * 3 * 3 * 2 * 2 * 2
    demo = spec.select(cells, spec.parse_only(
        ["mode=deterministic,version_order=dc1_newer,flavor=mysql:9.7,topology=active-passive|active-active"]))
    assert len(demo) == 18
    assert {c["topology"] for c in demo} == {"active-passive", "active-active"}
    assert len({spec.cell_id(c) for c in cells}) == len(cells)


def test_only_rejects_unknown_keys() -> None:
    with pytest.raises(ValueError, match="colour"):
        spec.parse_only(["colour=red"])
