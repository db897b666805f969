"""Guards render the WHERE clause the app sends; adding one is one class."""

from __future__ import annotations

import pytest

from lab.workloads.guards import Guard, guard


@pytest.mark.parametrize(("name", "expected"), [
    ("strict", "id = %(key)s AND version = %(read)s"),
    ("gte", "id = %(key)s AND version >= %(read)s"),
    ("lww", "id = %(key)s AND version < %(new)s"),
    ("none", "id = %(key)s"),
])
def test_where_clauses(name: str, expected: str) -> None:
    assert guard(name).where("id", "version") == expected


def test_custom_version_column() -> None:
    assert guard("gte").where("pk", "rev") == "pk = %(key)s AND rev >= %(read)s"


def test_adding_a_guard_is_one_class() -> None:
    class Newer(Guard):
        name = "test-newer"
        condition = "version <= %(new)s"

    try:
        assert guard("test-newer").where("id", "version").endswith("version <= %(new)s")
    finally:
        Guard.registry.pop("test-newer")


def test_unknown_guard() -> None:
    with pytest.raises(ValueError, match="unknown guard 'bogus'"):
        guard("bogus")
