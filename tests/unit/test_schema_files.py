"""`lab schema` describes the files `lab validate` accepts: generated from the same models, so they agree."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from lab.cli import entry
from lab.experiments.jsonschema import experiment_schema, topology_schema

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.yaml"))
TOPOLOGIES = sorted((ROOT / "topologies").glob("*.yaml"))


@pytest.fixture(scope="module")
def validators() -> dict[str, jsonschema.Draft202012Validator]:
    schemas = {"experiment": experiment_schema(), "topology": topology_schema()}
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    return {kind: jsonschema.Draft202012Validator(schema) for kind, schema in schemas.items()}


@pytest.mark.parametrize("path", EXPERIMENTS + TOPOLOGIES, ids=lambda p: p.stem)
def test_every_shipped_file_matches_its_schema(path: Path, validators) -> None:
    kind = "topology" if path.parent.name == "topologies" else "experiment"
    errors = [error.message for error in validators[kind].iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


@pytest.mark.parametrize(("change", "where"), [
    (lambda d: d.update(colour="red"), "colour"),
    (lambda d: d["timeline"][0]["fault"].update(type="earthquake"), "earthquake"),
    (lambda d: d["timeline"][0]["fault"].update(probabilty=2), "probabilty"),
    (lambda d: d["timeline"][0]["fault"].update(rate="fast"), "fast"),
    (lambda d: d.update(seed=True), "True"),
    (lambda d: d.update(name="has space"), "has space"),
])
def test_the_schema_refuses_what_validate_refuses(change, where: str, validators) -> None:
    data = yaml.safe_load((ROOT / "experiments" / "partition-during-shift.yaml").read_text())
    data["timeline"][0]["fault"] = {"type": "bandwidth", "between": ["dc1", "dc2"], "rate": "1mbit"}
    assert not list(validators["experiment"].iter_errors(data))
    change(data)
    errors = list(validators["experiment"].iter_errors(data))
    assert errors, f"the schema accepted {where}"


def test_lab_schema_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    entry(["schema", "experiment"])   # returns: exit 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(experiment_schema()))
    assert {"partition", "hold_appliers", "clock_skew"} <= set(json.dumps(printed["$defs"]["faults"]).split('"'))


def test_lab_validate_lists_cells_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    entry(["validate", "--json", "wix-incident", "active-active"])
    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["valid"] for r in reports] == [True, True]
    assert reports[0]["cells"] == 216 and reports[1]["servers"] == 2
