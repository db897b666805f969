"""Third-party faults, guards and workloads register like built-in ones, and validate the same way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import pytest
from pydantic import Field

from lab import plugins
from lab.errors import ConfigError, LabError
from lab.experiments.common import TimelineEntry
from lab.experiments.jsonschema import experiment_schema
from lab.faults import spec
from lab.faults.base import Fault
from lab.faults.params import FaultParams
from lab.workloads.guards import Guard


@pytest.fixture
def noop_fault() -> Iterator[type[FaultParams]]:
    class NoopParams(FaultParams):
        kind: ClassVar[str] = "noop_test"
        type: Literal["noop_test"]
        seconds: int = Field(ge=1)

    class Noop(Fault):
        kind = "noop_test"

        def params(self) -> dict[str, Any]:
            return {}

        def _start(self) -> None:
            return None

        def _heal(self) -> None:
            return None

    yield NoopParams
    FaultParams.registry.pop("noop_test")
    Fault.registry.pop("noop_test")


def test_a_registered_fault_parses_and_checks_its_fields(noop_fault: type[FaultParams]) -> None:
    assert isinstance(spec.parse({"type": "noop_test", "seconds": 2}, "x.yaml"), noop_fault)
    assert "noop_test" in spec.kinds()
    with pytest.raises(ConfigError, match=r"x.yaml: fault.seconds: Input should be greater than or equal to 1"):
        spec.parse({"type": "noop_test", "seconds": 0}, "x.yaml")
    with pytest.raises(ConfigError, match=r"fault.sconds: unknown key .sconds. \(a noop_test fault takes: type, "
                                          r"seconds\)"):
        spec.parse({"type": "noop_test", "sconds": 2}, "x.yaml")
    entry = TimelineEntry.model_validate({"at": 0, "fault": {"type": "noop_test", "seconds": 3}})
    assert isinstance(entry.fault, noop_fault)
    assert "NoopParams" in experiment_schema()["$defs"]["faults"]["$defs"]


def test_an_unregistered_fault_type_lists_the_known_ones(noop_fault: type[FaultParams]) -> None:
    with pytest.raises(ConfigError, match=r"fault.type: unknown type 'quake' \(use one of: .*noop_test"):
        spec.parse({"type": "quake"}, "x.yaml")


def test_a_registered_guard_is_a_matrix_value() -> None:
    class NotOlder(Guard):
        name = "not_older_test"
        condition = "version <= %(new)s"

    try:
        assert Guard.registry["not_older_test"] is NotOlder
        assert NotOlder().where("id", "v") == "id = %(key)s AND v <= %(new)s"
    finally:
        Guard.registry.pop("not_older_test")


def test_a_plugin_that_fails_to_import_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        name, value = "broken", "no_such_module_anywhere"

        def load(self) -> None:
            raise ModuleNotFoundError("No module named 'no_such_module_anywhere'")

    monkeypatch.setattr(plugins, "entry_points", lambda group: [Broken()] if group == "lab.workloads" else [])
    with pytest.raises(LabError, match=r"^plugin lab.workloads:broken \(no_such_module_anywhere\) could not be "
                                       r"loaded: ModuleNotFoundError"):
        plugins.load()
